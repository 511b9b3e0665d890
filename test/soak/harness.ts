// The soak: the real Controller on simulated time, over six services with random demand, a back-end that
// starts and stops replicas slowly, crashes them and fails or hangs, and sources that fail in every way a
// real one does. DESIGN.md's invariants are checked at every tick (and capacity at every change the back-end
// makes); memory, handles and the controller's own collections are sampled along the way.
// Used by test/soak/soak.test.ts (minutes) and bench/soak.ts (an hour).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Controller } from '../../src/controller/index.js';
import type { Logger } from '../../src/core/ports.js';
import { mulberry32 } from '../../src/core/random.js';
import type { Capacity, ControllerEvent, Plan, ServicePolicy } from '../../src/core/types.js';
import { SoakClock } from './clock.js';
import { Invariants, type SignalState } from './invariants.js';
import { type ObserveMode, type ScaleMode, SLOWEST_OBSERVE_MS, SoakScheduler } from './scheduler.js';
import { FAILING, SLOWEST_READ_MS, SoakSource, type SourceMode } from './source.js';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

export const INTERVAL_MS = 100;
export const READ_TIMEOUT_MS = 1000;
export const EVENT_HISTORY = 500;
/** A tick takes at most this while the back-end answers: reads are waited for an interval, then observe. */
export const LONGEST_TICK_MS = INTERVAL_MS + SLOWEST_OBSERVE_MS;
/**
 * A source that starts failing (or recovers) shows so in the state within this, while every tick keeps within
 * LONGEST_TICK_MS of the one before, measured between plans (P = 1 s; tick starts then lie at most 2P apart,
 * as an observe's latency varies by up to P). The last healthy read lands within 0.3 s; the next read starts
 * within 2P; a hanging one is given up at the first tick after readTimeout, within readTimeout + 2P; that
 * tick plans after its observe, within P. 0.3 + 2 + 1 + 2 + 1 = 6.3 s; recovering adds up the same way.
 * Rounded up to 6.5 s.
 */
export const REPORT_WITHIN_MS =
  SLOWEST_READ_MS + 2 * LONGEST_TICK_MS + READ_TIMEOUT_MS + 2 * LONGEST_TICK_MS + LONGEST_TICK_MS + 200;

/** The loop counts as stuck when no tick has completed for this long (observe fails for 20 s at most). */
const STUCK_MS = 30_000;

export const CAPACITY: Capacity = { replicas: 24, cpu: 12, memory: 24 * Gi };

const service = (
  name: string,
  priority: number,
  min: number,
  max: number,
  rule: ServicePolicy['rule'],
  cpu: number,
  memory: number,
  scaleDownWindowMs: number,
): ServicePolicy => ({ name, priority, min, max, rule, resources: { cpu, memory }, scaleDownWindowMs });

/**
 * Six services whose priority-1 demand alone can ask for more than the capacity (34 replicas, 21.5 cpu), so
 * there is contention and preemption; every rule, cpu and memory, mins that may not fit, scale-to-zero.
 */
export const SERVICES: readonly ServicePolicy[] = [
  service('web', 1, 1, 16, { type: 'target', perReplica: 10, activation: 0 }, 0.5, 512 * Mi, 2000),
  service('api', 1, 1, 12, { type: 'queue', perReplicaRate: 20, drainSeconds: 5 }, 1, Gi, 3000),
  service('checkout', 1, 0, 6, { type: 'target', perReplica: 5, activation: 2 }, 0.25, 256 * Mi, 1000),
  service('reports', 2, 0, 10, { type: 'queue', perReplicaRate: 2, drainSeconds: 30 }, 1, 2 * Gi, 5000),
  service('batch', 2, 0, 20, { type: 'remainder' }, 0.5, Gi, 2000),
  service('indexer', 2, 1, 4, { type: 'fixed', replicas: 3 }, 0, 0, 2000),
];

/** The demand each source walks over: enough to ask for each service's max and more. */
const DEMAND: Readonly<Record<string, { max: number; maxRate?: number }>> = {
  web: { max: 200 },
  api: { max: 400, maxRate: 150 },
  checkout: { max: 40 },
  reports: { max: 600, maxRate: 10 },
};

/** Replicas of another instance on the same back-end, under one of our names and one of its own. */
const FOREIGN = new Map([
  ['web', 3],
  ['legacy', 2],
]);

export interface SoakOptions {
  readonly seed: number;
  /** Simulated minutes. */
  readonly minutes: number;
  /** false: steady demand, no faults, no crashes (the baseline). */
  readonly faults?: boolean;
  /** Simulated ms between memory samples (after a forced GC when --expose-gc is on). */
  readonly sampleEveryMs?: number;
  /** Simulated ms at the end without new faults and with steady demand, after which all must have converged. */
  readonly calmMs?: number;
  /**
   * A slow observe answers with the state of when it was called, not of when it answers. Off by default: the
   * controller exceeds capacity under it (see docs/reliability.md, "Soak").
   */
  readonly staleObserve?: boolean;
  /** Called at each memory sample. */
  readonly progress?: (line: string) => void;
}

export interface MemorySample {
  /** Simulated minutes. */
  readonly minute: number;
  readonly heapUsed: number;
}

export interface SoakResult {
  readonly seed: number;
  readonly faults: boolean;
  readonly simulatedMs: number;
  readonly realMs: number;
  /** Ticks that ran to the end (a tick whose observe failed stops early and is not counted). */
  readonly ticks: number;
  /** Ticks whose plan was checked; every completed tick is. */
  readonly checkedTicks: number;
  /** Invariant evaluations: per checked tick, per back-end change, and the final ones. */
  readonly checks: number;
  /** The first violation, with seed, tick and state; undefined when none. */
  readonly violation: string | undefined;
  readonly gc: boolean;
  readonly memory: readonly MemorySample[];
  /** Least-squares growth of heapUsed over the second half of the run, bytes per simulated minute. */
  readonly slopePerMinute: number | undefined;
  readonly handlesBefore: Readonly<Record<string, number>>;
  readonly handlesAfter: Readonly<Record<string, number>>;
  /** The largest size each collection held by the controller reached (path → entries). */
  readonly largest: Readonly<Record<string, number>>;
  readonly events: Readonly<Record<string, number>>;
  readonly scheduler: SoakScheduler['counts'] & { readonly peak: SoakScheduler['peak'] };
  readonly injected: Readonly<Record<string, number>>;
  /** The longest time between two plans while the back-end answered, and how many exceeded LONGEST_TICK_MS. */
  readonly longestTickMs: number;
  readonly stretchedTicks: number;
}

/**
 * The controller's latest plan. Its time is what the planner's promises are about (a tick's end can come
 * later: it waits for a reconcile that may be observing), and the controller shows it nowhere public, so
 * this is the soak's one look inside. It fails loudly, rather than check less, if the field goes away.
 */
function latestPlan(controller: Controller): Plan | undefined {
  const plan = (controller as unknown as { lastPlan?: Plan }).lastPlan;
  if (plan !== undefined && typeof plan.at !== 'number')
    throw new Error('Controller.lastPlan changed shape: update latestPlan() in test/soak/harness.ts');
  return plan;
}

/**
 * A forced full GC: node's `gc` when run with --expose-gc, otherwise the same function obtained by setting
 * the flag at run time (V8 then exposes it to new contexts). Undefined if neither works.
 */
export function forcedGc(): (() => void) | undefined {
  const global = (globalThis as { gc?: () => void }).gc;
  if (global) return global;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** A drawn duration: exponential with the given mean, at least `min`. */
function exponential(random: () => number, mean: number, min = 0): number {
  return Math.max(min, Math.round(-Math.log(1 - random()) * mean));
}

function between(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

export function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1;
  return out;
}

/** Every Map, Set and array reachable from `root` within `depth` steps, by path, with its size. */
export function collectionSizes(root: object, depth = 3): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Set<unknown>();
  const visit = (value: unknown, path: string, left: number) => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    if (value instanceof Map || value instanceof Set) out.set(path, value.size);
    else if (Array.isArray(value) || ArrayBuffer.isView(value))
      out.set(path, (value as { length: number }).length);
    if (left === 0 || ArrayBuffer.isView(value)) return;
    const children =
      value instanceof Map ? [...value.values()] : value instanceof Set ? [] : Object.values(value);
    // Entries of a collection share one path: their sizes are bounded by the same promise.
    const suffix = value instanceof Map || Array.isArray(value) ? '[]' : undefined;
    if (suffix) for (const child of children) visit(child, `${path}${suffix}`, left - 1);
    // Its options (the back-end, the clock, the sources) are the soak's, not the controller's own state.
    else
      for (const [key, child] of Object.entries(value))
        if (key !== 'opts') visit(child, `${path}.${key}`, left - 1);
  };
  visit(root, 'controller', depth);
  return out;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number | undefined {
  if (points.length < 3) return undefined;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { seed, minutes } = options;
  const faults = options.faults ?? true;
  const durationMs = Math.round(minutes * 60_000);
  const calmMs = options.calmMs ?? 45_000;
  const sampleEveryMs = options.sampleEveryMs ?? 5 * 60_000;
  const gc = forcedGc();

  // Each part draws from its own stream, so a change in how often one draws leaves the others' alone.
  const streams = mulberry32(seed);
  const stream = () => mulberry32(Math.floor(streams() * 2 ** 32));
  const clock = new SoakClock(0);
  // Plans that came later than LONGEST_TICK_MS after the one before, while the back-end answered.
  let longestGap = 0;
  let stretched = 0;
  let failedObserves = 0;
  /** Since when the bound on reporting holds again (after a failed observe or a stretched tick). */
  let regrace = 0;
  let violation: string | undefined;
  let ticks = 0;
  const report = (what: string) => {
    violation ??= `seed ${seed}, tick ${ticks}, t=${clock.now()}ms: ${what}\n${describe()}`;
  };
  const scheduler = new SoakScheduler({
    instance: 'soak',
    services: SERVICES,
    capacity: CAPACITY,
    clock,
    random: stream(),
    delayMs: faults ? [50, 3000] : [50, 500],
    foreign: FOREIGN,
    staleObserve: options.staleObserve ?? false,
    violation: report,
  });
  const sources = new Map<string, SoakSource>();
  for (const s of SERVICES) {
    const demand = DEMAND[s.name];
    if (!demand) continue;
    const source = new SoakSource({ clock, random: stream(), readTimeoutMs: READ_TIMEOUT_MS, ...demand });
    source.steady = !faults;
    sources.set(s.name, source);
  }
  // When each source last changed between failing and healthy.
  const signals = new Map<string, { failing: boolean; since: number }>();
  for (const name of sources.keys()) signals.set(name, { failing: false, since: 0 });
  const invariants = new Invariants({
    services: SERVICES,
    capacity: CAPACITY,
    intervalMs: INTERVAL_MS,
    reportWithinMs: REPORT_WITHIN_MS,
    signal: (name): SignalState => {
      const signal = signals.get(name);
      return signal && { failing: signal.failing, since: Math.max(signal.since, regrace) };
    },
  });

  const quiet: Logger = { log() {} };
  const controller = new Controller({
    name: 'soak',
    capacity: CAPACITY,
    intervalMs: INTERVAL_MS,
    readTimeoutMs: READ_TIMEOUT_MS,
    services: SERVICES,
    sources,
    scheduler,
    clock,
    logger: quiet,
    eventHistory: EVENT_HISTORY,
  });
  const events: Record<string, number> = {};
  let eventCount = 0;
  controller.subscribe((e: ControllerEvent) => {
    events[e.kind] = (events[e.kind] ?? 0) + 1;
    eventCount++;
  });

  function describe(): string {
    const snap = controller.snapshot();
    const real = scheduler.count();
    const rows = snap.services.map((s) => {
      const o = real.get(s.name);
      return `  ${s.name}: desired ${s.desired} need ${s.need} value ${s.value}; controller saw running ${s.running} starting ${s.starting} stopping ${s.stopping}; back-end has ${o?.running}/${o?.starting}/${o?.stopping}${s.error ? `; error "${s.error}"` : ''}${s.reason ? `; reason "${s.reason}"` : ''}`;
    });
    const modes = [...sources].map(([n, src]) => `${n}=${src.mode}`).join(' ');
    return [
      `state: occupied ${JSON.stringify(scheduler.occupied())} of ${JSON.stringify(CAPACITY)}; scale ${scheduler.scaleMode}, observe ${scheduler.observeMode}; sources ${modes}`,
      ...rows,
    ].join('\n');
  }

  const activity = () => {
    let n = clock.sleeps + scheduler.activity + eventCount;
    for (const s of sources.values()) n += s.activity;
    return n;
  };
  // Lets every chain of promises the last wake-up started run to its end: the controller's tick races one
  // setImmediate, so a turn of the event loop with no activity at all, twice, means nothing is left to run.
  const settle = async () => {
    let last = activity();
    for (let idle = 0; idle < 2; ) {
      await immediate();
      const now = activity();
      if (now === last) idle++;
      else {
        idle = 0;
        last = now;
      }
    }
  };

  // Faults, each on its own loop of the simulated clock, until the calm at the end.
  const injected: Record<string, number> = {};
  const inject = (what: string) => {
    injected[what] = (injected[what] ?? 0) + 1;
  };
  const calm = new AbortController();
  const loops: Promise<void>[] = [];
  const loop = (body: () => Promise<void>) =>
    loops.push(
      (async () => {
        while (!calm.signal.aborted) await body();
      })(),
    );
  const wait = (ms: number) => clock.sleep(ms, calm.signal);
  if (faults) {
    for (const [name, source] of sources) {
      const random = stream();
      const set = (mode: SourceMode) => {
        const failing = FAILING.has(mode);
        const signal = signals.get(name) as { failing: boolean; since: number };
        if (signal.failing !== failing) signals.set(name, { failing, since: clock.now() });
        source.mode = mode;
      };
      loop(async () => {
        await wait(exponential(random, 60_000, 5000));
        if (calm.signal.aborted) return;
        const mode = pick<SourceMode>(random, [
          'huge',
          'error',
          'throw',
          'slow',
          'hang',
          'deaf',
          'nonsense',
          'down',
        ]);
        inject(`source ${mode}`);
        set(mode);
        await wait(mode === 'down' ? between(random, 60_000, 300_000) : between(random, 2000, 30_000));
        set('ok');
      });
    }
    const random = stream();
    loop(async () => {
      await wait(exponential(random, 120_000, 10_000));
      if (calm.signal.aborted) return;
      const mode = pick<ScaleMode>(random, ['reject', 'hang', 'slow-ack']);
      inject(`scale ${mode}`);
      scheduler.scaleMode = mode;
      await wait(between(random, 5000, 30_000));
      scheduler.scaleMode = 'ok';
    });
    const observing = stream();
    loop(async () => {
      await wait(exponential(observing, 90_000, 10_000));
      if (calm.signal.aborted) return;
      const mode = pick<ObserveMode>(observing, ['fail', 'slow']);
      inject(`observe ${mode}`);
      scheduler.observeMode = mode;
      await wait(mode === 'fail' ? between(observing, 2000, 20_000) : between(observing, 5000, 30_000));
      scheduler.observeMode = 'ok';
    });
    const crashing = stream();
    loop(async () => {
      await wait(exponential(crashing, 8000, 100));
      if (calm.signal.aborted) return;
      inject('replica crash');
      scheduler.crash();
    });
  }
  const calmAt = faults ? Math.max(0, durationMs - calmMs) : 0;
  const endCalm = () => {
    calm.abort();
    scheduler.scaleMode = 'ok';
    scheduler.observeMode = 'ok';
    for (const [name, source] of sources) {
      source.mode = 'ok';
      source.steady = true;
      const signal = signals.get(name) as { failing: boolean; since: number };
      if (signal.failing) signals.set(name, { failing: false, since: clock.now() });
    }
  };

  const memory: MemorySample[] = [];
  const largest: Record<string, number> = {};
  const sample = () => {
    gc?.();
    memory.push({ minute: clock.now() / 60_000, heapUsed: process.memoryUsage().heapUsed });
    for (const [path, size] of collectionSizes(controller))
      largest[path] = Math.max(largest[path] ?? 0, size);
    const m = memory[memory.length - 1] as MemorySample;
    options.progress?.(
      `t=${m.minute.toFixed(0).padStart(3)} min  ticks ${ticks}  heap ${(m.heapUsed / Mi).toFixed(2)} MB`,
    );
  };

  /** Moves simulated time, sleeper by sleeper, until `until` is reached or `done` settles. */
  let finished = false;
  const drive = async (until: number, done?: Promise<unknown>) => {
    let settled = false;
    void done?.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!violation && !settled) {
      await settle();
      ticks = controller.metrics().tickSeconds.count;
      const plan = latestPlan(controller);
      if (plan !== checkedPlan && plan !== undefined) {
        checkedPlan = plan;
        // A tick longer than the bound REPORT_WITHIN_MS assumes (the back-end failed, or the tick waited on
        // a reconcile that observed again and again) restarts the time a failing source has to show.
        const gap = plan.at - lastPlanAt;
        if (scheduler.counts.observeFailed !== failedObserves) {
          failedObserves = scheduler.counts.observeFailed;
          regrace = plan.at;
        } else {
          longestGap = Math.max(longestGap, gap);
          if (gap > LONGEST_TICK_MS) {
            stretched++;
            regrace = plan.at;
          }
        }
        lastPlanAt = plan.at;
        if (!finished) {
          for (const v of invariants.check(plan.at, controller.snapshot())) report(v);
          checkedTicks++;
        }
      }
      // Liveness: observe fails for at most 20 s at a time; past 30 s without a plan the loop is stuck.
      if (!finished && clock.now() - lastPlanAt > STUCK_MS)
        report(`no plan for ${clock.now() - lastPlanAt}ms: the loop is stuck`);
      if (!finished && clock.now() >= nextSample) {
        sample();
        nextSample += sampleEveryMs;
      }
      if (!finished && !calm.signal.aborted && clock.now() >= calmAt) endCalm();
      const next = clock.nextDue();
      if (next === undefined) {
        if (!done) report('nothing left to wake: the control loop stopped');
        break;
      }
      if (next > until) break;
      clock.advanceTo(next);
    }
    if (!done && clock.now() < until) clock.advanceTo(until);
  };

  let checkedTicks = 0;
  let lastPlanAt = 0;
  let checkedPlan: Plan | undefined;
  let nextSample = 0;
  await settle();
  const handlesBefore = handleCounts();
  const foreignBefore = JSON.stringify([...scheduler.foreign()]);
  const started = performance.now();
  const running = controller.start();
  await drive(durationMs);
  finished = true;
  if (memory[memory.length - 1]?.minute !== clock.now() / 60_000) sample();
  const realMs = performance.now() - started;

  // After the calm (or a steady run): no faults, steady demand, so everything must have converged.
  if (!violation) {
    const snap = controller.snapshot();
    for (const s of snap.services) {
      if (s.error !== undefined) report(`${s.name} still reports "${s.error}" after ${calmMs}ms of calm`);
      if (s.running !== s.desired || s.starting !== 0 || s.stopping !== 0)
        report(`${s.name} has not converged after ${calmMs}ms of calm`);
    }
  }
  // Leaving: drain stops every replica of this instance and none of another's. Each step gets a minute of
  // simulated time; one that does not end in it is reported, never awaited for ever.
  const within = async <T>(work: Promise<T>, what: string): Promise<T | undefined> => {
    let out: { value: T } | undefined;
    const watched = work.then((value) => {
      out = { value };
    });
    await drive(clock.now() + 60_000, watched);
    if (!out) report(`${what} did not end within 60 s of simulated time`);
    return out?.value;
  };
  const drainedAll = await within(controller.drain(30_000), 'drain()');
  if (drainedAll === false) report('drain() gave up: replicas still running, starting or stopping');
  await within(controller.stop(), 'stop()');
  await within(running, 'the control loop');
  calm.abort();
  await within(Promise.all(loops), 'the fault loops');
  await settle();
  const occupied = scheduler.occupied();
  if (!violation && occupied.replicas !== 0) report(`${occupied.replicas} replicas left after drain`);
  const foreignAfter = JSON.stringify([...scheduler.foreign()]);
  if (!violation && foreignAfter !== foreignBefore)
    report(`replicas of another instance changed: ${foreignBefore} → ${foreignAfter}`);
  const handlesAfter = handleCounts();
  for (const [path, size] of collectionSizes(controller)) largest[path] = Math.max(largest[path] ?? 0, size);

  const half = durationMs / 60_000 / 2;
  const late = memory.filter((m) => m.minute >= half).map((m) => [m.minute, m.heapUsed] as const);
  return {
    seed,
    faults,
    simulatedMs: durationMs,
    realMs,
    ticks,
    checkedTicks,
    checks: invariants.checks + scheduler.counts.scaleCalls,
    violation,
    gc: gc !== undefined,
    memory,
    slopePerMinute: gc ? slope(late) : undefined,
    handlesBefore,
    handlesAfter,
    largest,
    events,
    scheduler: { ...scheduler.counts, peak: { ...scheduler.peak } },
    injected,
    longestTickMs: longestGap,
    stretchedTicks: stretched,
  };
}
