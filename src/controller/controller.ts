// The controller: the tick (read, observe, plan, act), the reconcile coalescing, and the public API (snapshot,
// run-time changes, drain). Its parts do the rest, one job each (docs/architecture.md lists them).
import { errorMessage } from '../core/errors.js';
import { canFreeze } from '../core/ports.js';
import type { Capacity, Observed, Plan } from '../core/types.js';
import { EMPTY_MEMORY, type PlannerMemory, plan } from '../planner/index.js';
import { Actor } from './actor.js';
import { CallLedger } from './call-ledger.js';
import { CapacityReader } from './capacity-reader.js';
import { drainAll } from './drain.js';
import { EventLog } from './event-log.js';
import { TickLoop } from './loop.js';
import {
  type ControllerMetrics,
  Histogram,
  newServiceMetrics,
  type ServiceMetrics,
  TICK_BUCKETS,
} from './metrics.js';
import { Observer } from './observer.js';
import {
  type ControllerOptions,
  DEFAULT_CAPACITY_CONFIRM_MS,
  DEFAULT_OBSERVE_TIMEOUT_MS,
  DEFAULT_SCALE_TIMEOUT_MS,
} from './options.js';
import { reportPlan } from './plan-events.js';
import { DEFAULT_PRESSURE, PressureWatch } from './pressure-watch.js';
import { capacityLeft, removedServices } from './removed.js';
import { type Listener, Reporter } from './reporter.js';
import { RunTimeChanges } from './run-time-changes.js';
import { ScaleExecutor } from './scale-executor.js';
import { ServiceBook } from './service-book.js';
import type { ServiceChange } from './service-change.js';
import { buildSnapshot, type ControllerSnapshot, type ServiceStatus } from './snapshot.js';
import { SourceReader } from './source-reader.js';
import { TerminalHolds } from './terminal-holds.js';
import { TimeToDesired } from './time-to-desired.js';

/**
 * What the back-end reported, and how many scale calls had settled when the question was asked: a call that
 * settled later may not show in it (a slow observe describes the moment it was asked, not when it answered).
 */
interface Observation {
  readonly map: ReadonlyMap<string, Observed>;
  readonly seq: number;
}

/**
 * The control loop. Each tick: read every source concurrently (each read bounded by readTimeoutMs; a read
 * still running at the end of the tick is used by a later one), observe the back-end, plan, and act on the
 * difference between desired and observed. Acting happens again, at once, whenever a scale call settles or
 * the back-end reports a replica change, so capacity freed by a stopped replica goes to the waiting service
 * without waiting for the next tick.
 */
export class Controller {
  private readonly opts: ControllerOptions;
  private memory: PlannerMemory = EMPTY_MEMORY;
  private lastPlan: Plan | undefined;
  private readonly reader: SourceReader;
  /** The live capacity, when the config reads it (issue 15); the fixed one otherwise. */
  private readonly live: CapacityReader | undefined;
  /** The pressure signals for VM autoscaling, and the requests to the autoscale target. */
  private readonly pressure: PressureWatch;
  /** Asks the back-end what runs; keeps its latest answer. */
  private readonly observer: Observer;
  /** Scale calls in flight, settled but unseen, and abandoned; each service's backoff. */
  private readonly ledger = new CallLedger();
  /** Makes the scale calls: fenced, bounded, recorded in the ledger. */
  private readonly executor: ScaleExecutor;
  /**
   * Whether the back-end freezes replicas (docker, process): then every call says how many frozen replicas
   * a service keeps (warm pools, freeze-preempted replicas; 0 when the config asks for neither).
   */
  private readonly freezing: boolean;
  private reconciling: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private readonly loop = new AbortController();
  private unwatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** The services with their run-time changes, and the list the planner sees. */
  private readonly book: ServiceBook;
  private readonly tickSeconds = new Histogram(TICK_BUCKETS);
  private readonly perService = new Map<string, ServiceMetrics>();
  /** Time to desired per service, and the reason of each change of desired until it is reached. */
  private readonly settling = new TimeToDesired(this.perService);
  private readonly timer: () => number;
  /** Wall-clock ms, for timestamps people read; clock.now() (monotonic) is for every duration. */
  private readonly wall: () => number;
  private readonly observeTimeoutMs: number;
  /** Ticks every interval, or sooner when nudged. */
  private readonly ticker: TickLoop;
  /** Every event, with start/stop/preempt/change told apart, for the live stream. */
  readonly log: EventLog;
  /** Events and problems. */
  private readonly reporter: Reporter;
  /** Acts on an observation: decide(), the scale calls, the removed services. */
  private readonly actor: Actor;
  /** update, pause and resume. */
  private readonly changes: RunTimeChanges;
  /** Services whose last call failed with a TerminalError: not called again until something changes. */
  private readonly holds = new TerminalHolds();

  constructor(options: ControllerOptions) {
    this.opts = options;
    const { scheduler, clock, logger } = options;
    this.book = new ServiceBook(options.services);
    for (const s of options.services) this.perService.set(s.name, newServiceMetrics());
    this.timer = options.timer ?? (() => performance.now());
    this.freezing = canFreeze(scheduler);
    this.wall = clock.wall ? () => (clock.wall as () => number)() : () => clock.now();
    this.observeTimeoutMs = options.observeTimeoutMs ?? DEFAULT_OBSERVE_TIMEOUT_MS;
    this.log = new EventLog(options.eventHistory);
    this.reporter = new Reporter(logger, this.wall, this.log);
    // What the parts are made with (each takes what its options name).
    const shared = {
      scheduler,
      clock,
      logger,
      capacity: () => this.capacity() ?? options.capacity,
      keepRemoved: options.keepRemoved === true,
      freezing: this.freezing,
      reporter: this.reporter,
      ledger: this.ledger,
      holds: this.holds,
      book: this.book,
      settling: this.settling,
      signal: this.loop.signal,
      observed: (service: string) => this.observer.latest.get(service),
      stopped: () => this.stopped,
    };
    this.reader = new SourceReader({ ...options, onError: (service) => this.countSourceError(service) });
    this.live = options.capacitySource
      ? new CapacityReader({
          ...options,
          source: options.capacitySource,
          confirmMs: options.capacityConfirmMs ?? DEFAULT_CAPACITY_CONFIRM_MS,
          everyMs: options.capacityEveryMs ?? 0,
          reporter: this.reporter,
        })
      : undefined;
    this.pressure = new PressureWatch(
      { ...DEFAULT_PRESSURE, ...options.pressure },
      { ...shared, instance: options.name, wall: this.wall },
    );
    this.observer = new Observer({ ...shared, timeoutMs: this.observeTimeoutMs });
    this.executor = new ScaleExecutor({
      ...shared,
      scaleTimeoutMs: options.scaleTimeoutMs ?? DEFAULT_SCALE_TIMEOUT_MS,
      metrics: this.perService,
      mayAct: () => this.mayAct(),
      reconcile: () => this.requestReconcile(),
    });
    this.actor = new Actor({ ...shared, executor: this.executor });
    this.changes = new RunTimeChanges(shared);
    this.ticker = new TickLoop({
      ...shared,
      intervalMs: options.intervalMs,
      tick: () => this.tick(),
      failed: (error) => {
        logger.log('error', 'tick failed', { error: errorMessage(error) });
        this.reporter.emit('error', `tick failed: ${errorMessage(error)}`);
      },
    });
    this.unwatch = scheduler.watch?.((service) => {
      this.changes.releaseHold(service, 'the back-end reports a change');
      this.requestReconcile();
    });
  }

  /** Starts the loop; resolves when it has stopped. */
  start(): Promise<void> {
    if (!this.running) {
      this.running = this.ticker.run();
    }
    return this.running;
  }

  /** Stops the loop and waits for scale calls in flight. Leaves replicas as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.loop.abort();
    this.unwatch?.();
    await this.running;
    await Promise.all([this.settle(), this.pressure.settle()]);
  }

  /** Scales every service to zero and waits (up to timeoutMs) until nothing runs, starts or stops. */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    // No more planning or reconciling: from here on only the scale-to-zero below acts.
    this.stopped = true;
    this.loop.abort();
    await this.settle();
    // A follower owns nothing to stop: the leader decides what runs.
    if (!this.mayAct()) return false;
    const drain = {
      ...this.opts,
      executor: this.executor,
      names: this.book.names,
      observed: () => this.observer.latest,
      freezing: this.freezing,
      keepRemoved: this.opts.keepRemoved === true,
      observeTimeoutMs: this.observeTimeoutMs,
    };
    return drainAll(drain, timeoutMs);
  }

  subscribe(listener: Listener): () => void {
    return this.reporter.subscribe(listener);
  }

  snapshot(): ControllerSnapshot {
    return buildSnapshot({
      ...this.opts,
      capacity: this.capacity() ?? this.opts.capacity,
      ...(this.lastPlan ? { signals: this.pressure.state } : {}),
      book: this.book,
      plan: this.lastPlan,
      observed: this.observer.latest,
      reporter: this.reporter,
      freezing: this.freezing,
      keepRemoved: this.opts.keepRemoved === true,
      wall: this.wall,
    });
  }

  /** One full iteration: read, observe, plan, act. The loop calls it every interval; tests call it directly. */
  async tick(): Promise<Plan | undefined> {
    const started = this.timer();
    const { clock } = this.opts;
    await Promise.all([this.reader.read(), this.live?.read()]);
    const observation = await this.observe();
    const capacity = this.capacity();
    if (!observation || !capacity) return undefined;
    const observed = observation.map;
    const kept = this.opts.keepRemoved ? removedServices(observed, this.book.names) : [];
    const result = plan(
      {
        now: clock.now(),
        capacity: capacityLeft(capacity, kept),
        services: this.book.effective,
        readings: this.reader.latest,
        observed,
      },
      this.memory,
    );
    this.memory = result.memory;
    this.lastPlan = result.plan;
    reportPlan(result.plan, this.reporter, this.settling);
    this.pressure.update(clock.now(), result.plan, this.book.effective, capacity, this.live?.nodeSize);
    this.settling.track(this.lastPlan, observed, clock.now());
    await this.reconcile(observation);
    this.tickSeconds.observe(Math.max(0, this.timer() - started) / 1000);
    return result.plan;
  }

  /**
   * Changes a service's min, max or priority at run time, validated as the config is (ConfigError when
   * not; UnknownServiceError for a name not configured). The next plan uses it.
   */
  update(service: string, change: ServiceChange): ServiceStatus {
    this.changes.update(service, change);
    return this.status(service);
  }

  /**
   * Freezes a service at the replicas it has now (running and starting): from the next plan on it is neither
   * scaled up nor down, nor preempted, until resumed. Its min and max still bound the frozen count.
   */
  pause(service: string): ServiceStatus {
    this.changes.pause(service);
    return this.status(service);
  }

  /** Lets the planner scale a paused service again. */
  resume(service: string): ServiceStatus {
    this.changes.resume(service);
    return this.status(service);
  }

  /** Counters and histograms for /metrics; live objects, read them, do not change them. */
  metrics(): ControllerMetrics {
    return {
      tickSeconds: this.tickSeconds,
      services: this.perService,
      observeErrors: this.observer.errors,
      autoscaleRequests: this.pressure.asks,
    };
  }

  private status(service: string): ServiceStatus {
    return this.snapshot().services.find((s) => s.name === service) as ServiceStatus;
  }

  /**
   * Runs the next tick now rather than at the end of the interval: a value was pushed, and waiting up to a
   * tick for it is waiting for nothing. Ticks never overlap; a nudge during a tick makes the next one start
   * as soon as it ends.
   */
  nudge(): void {
    this.ticker.nudge();
  }

  /**
   * A problem found outside the loop (this instance's claim on its back-end held by another): an error
   * event once, and a `recovered` event saying `recovered` once `message` is undefined again.
   */
  setProblem(key: string, message: string | undefined, recovered: string): void {
    if (message === undefined) this.reporter.clearProblem(`outside:${key}`, undefined, recovered);
    else this.reporter.problem(`outside:${key}`, undefined, message);
  }

  /** An observation numbered with the calls settled when it was asked for; undefined when it failed. */
  private async observe(): Promise<Observation | undefined> {
    const seq = this.ledger.seq;
    const seen = await this.observer.observe();
    if (!seen) return undefined;
    this.settling.track(this.lastPlan, seen, this.opts.clock.now());
    return { map: seen, seq };
  }

  private requestReconcile(): void {
    if (this.stopped) return;
    void this.reconcile();
  }

  /**
   * Acts on the difference between desired and observed; runs one at a time, re-running if asked meanwhile.
   * `fresh` is an observation just made (by the tick), saving a second one. Resolves after the first pass: a
   * caller (the tick) never waits for re-runs that replica changes keep asking for, nor for a pass that was
   * already running (it is asked to run again instead).
   */
  private reconcile(fresh?: Observation): Promise<void> {
    if (this.reconciling) {
      this.dirty = true;
      return Promise.resolve();
    }
    let firstPass: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      firstPass = resolve;
    });
    this.reconciling = (async () => {
      let observed = fresh;
      try {
        do {
          this.dirty = false;
          await this.reconcileOnce(observed);
          firstPass();
          observed = undefined;
        } while (this.dirty && !this.stopped);
      } finally {
        firstPass();
      }
    })().finally(() => {
      this.reconciling = undefined;
      // A request that came after the loop's last check, but before this, would be lost otherwise.
      if (this.dirty) this.requestReconcile();
    });
    return first;
  }

  private async reconcileOnce(fresh?: Observation): Promise<void> {
    const current = this.lastPlan;
    if (!current || this.stopped || !this.mayAct()) return;
    let observation = fresh ?? (await this.observe());
    // An observation older than one already acted on (a slow answer overtaken by a later question) could
    // undo what that one taught: ask again.
    if (observation && this.ledger.stale(observation.seq)) observation = await this.observe();
    if (!observation || this.ledger.stale(observation.seq)) return;
    this.ledger.seen(observation.seq);
    this.actor.act(current, observation.map, this.opts.clock.now());
  }

  /** The capacity in force: the live one once a reading was taken (undefined before), else the fixed one. */
  private capacity(): Capacity | undefined {
    return this.live ? this.live.capacity : this.opts.capacity;
  }

  private mayAct(): boolean {
    return this.opts.canAct?.() ?? true;
  }

  private async settle(): Promise<void> {
    while (this.ledger.inFlight.size > 0 || this.reconciling) {
      await Promise.all([...this.ledger.inFlight.values()].map((f) => f.done));
      await this.reconciling;
    }
  }

  private countSourceError(service: string): void {
    const m = this.perService.get(service);
    if (m) m.sourceErrors++;
  }
}
