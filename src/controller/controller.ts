import { errorMessage } from '../core/errors.js';
import type { Clock, Logger, Scheduler, Source } from '../core/ports.js';
import type {
  Capacity,
  ControllerEvent,
  EventKind,
  Observed,
  Plan,
  ServicePolicy,
  Snapshot,
  SourceResult,
} from '../core/types.js';
import { NONE_OBSERVED } from '../core/types.js';
import { admit, EMPTY_MEMORY, type PlannerMemory, plan } from '../planner/index.js';
import { Backoff } from './backoff.js';
import { UnknownServiceError } from './errors.js';
import { EventLog, isPreemption, type LiveEventInput } from './event-log.js';
import {
  type ControllerMetrics,
  Histogram,
  newServiceMetrics,
  type ServiceMetrics,
  scaleCause,
  TICK_BUCKETS,
} from './metrics.js';
import { applyChange, describeChange, type ServiceChange } from './service-change.js';

export interface ControllerOptions {
  readonly name: string;
  readonly capacity: Capacity;
  readonly intervalMs: number;
  readonly readTimeoutMs: number;
  readonly services: readonly ServicePolicy[];
  /** Per service that has a signal. */
  readonly sources: ReadonlyMap<string, Source>;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Milliseconds from a fine-grained monotonic clock, for tick durations; performance.now() by default. */
  readonly timer?: () => number;
  /** How many events the live log keeps (GET /api/events replays them); 500 by default. */
  readonly eventHistory?: number;
  /**
   * Whether this instance may act now (high availability: only while it holds the leader lease). Checked
   * before every reconcile and right before every scale call; without it the instance always acts.
   */
  readonly canAct?: () => boolean;
}

/** A service as a running instance reports it, with whether it is paused. */
export type ServiceStatus = Snapshot['services'][number] & { readonly paused?: true };
export interface ControllerSnapshot extends Snapshot {
  readonly services: readonly ServiceStatus[];
}

type Listener = (event: ControllerEvent) => void;

/** A source read in flight. */
interface Read {
  readonly started: number;
  readonly abort: AbortController;
  done: Promise<void>;
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
  private observed: ReadonlyMap<string, Observed> = new Map();
  private readonly latest = new Map<string, SourceResult>();
  /** One slot per source, made once: the read in flight, if any. */
  private readonly slots: { name: string; source: Source; read: Read | undefined }[];
  private readonly inFlight = new Map<string, { target: number; done: Promise<void> }>();
  private readonly backoff = new Map<string, Backoff>();
  private readonly listeners = new Set<Listener>();
  private readonly reported = new Map<string, string>();
  private reconciling: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private readonly loop = new AbortController();
  private unwatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** The configured policies with the changes made at run time, in config order. */
  private policies: ServicePolicy[];
  /** What the planner sees: policies, with paused services pinned (min = max) to their frozen count. */
  private effective: readonly ServicePolicy[];
  /** Paused services and the replica count each is frozen at. */
  private readonly paused = new Map<string, number>();
  /** Since when each service has not been running its desired count (for time-to-desired). */
  private readonly unsettled = new Map<string, number>();
  /**
   * The reason of each service's latest change of desired, until it runs that count: replicas started later
   * (capacity freed a few ticks on) are started for that reason, not for a replacement.
   */
  private readonly because = new Map<string, { desired: number; reason: string }>();
  private readonly tickSeconds = new Histogram(TICK_BUCKETS);
  private readonly perService = new Map<string, ServiceMetrics>();
  private readonly timer: () => number;
  /** Every event, with start/stop/preempt/change told apart, for the live stream. */
  readonly log: EventLog;

  constructor(options: ControllerOptions) {
    this.opts = options;
    this.policies = [...options.services];
    this.effective = options.services;
    for (const s of options.services) this.perService.set(s.name, newServiceMetrics());
    this.timer = options.timer ?? (() => performance.now());
    this.log = new EventLog(options.eventHistory);
    this.slots = [...options.sources].map(([name, source]) => ({ name, source, read: undefined }));
    this.unwatch = options.scheduler.watch?.(() => this.requestReconcile());
  }

  /** Starts the loop; resolves when it has stopped. */
  start(): Promise<void> {
    if (!this.running) {
      this.running = this.runLoop();
    }
    return this.running;
  }

  /** Stops the loop and waits for scale calls in flight. Leaves replicas as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.loop.abort();
    this.unwatch?.();
    await this.running;
    await this.settle();
  }

  /** Scales every service to zero and waits (up to timeoutMs) until nothing runs, starts or stops. */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const { scheduler, clock } = this.opts;
    // No more planning or reconciling: from here on only the scale-to-zero below acts.
    this.stopped = true;
    this.loop.abort();
    await this.settle();
    // A follower owns nothing to stop: the leader decides what runs.
    if (!this.mayAct()) return false;
    const deadline = clock.now() + timeoutMs;
    for (const s of this.opts.services) {
      const o = this.observed.get(s.name) ?? NONE_OBSERVED;
      await this.call(s.name, 0, 'stopping everything on exit', false, o.running + o.starting);
    }
    while (clock.now() < deadline) {
      const seen = await scheduler.observe(AbortSignal.timeout(5000)).catch(() => undefined);
      if (seen && [...seen.values()].every((o) => o.running + o.starting + o.stopping === 0)) return true;
      await clock.sleep(50);
    }
    return false;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): ControllerSnapshot {
    const planned = new Map(this.lastPlan?.services.map((s) => [s.name, s]));
    let used = 0;
    const services = this.policies.map((s): ServiceStatus => {
      const o = this.observed.get(s.name) ?? NONE_OBSERVED;
      const p = planned.get(s.name);
      used += o.running + o.starting + o.stopping;
      return {
        name: s.name,
        priority: s.priority,
        min: s.min,
        max: s.max,
        value: p?.value ?? null,
        need: p?.need ?? 0,
        desired: p?.desired ?? 0,
        running: o.running,
        starting: o.starting,
        stopping: o.stopping,
        ...(p?.reason === undefined ? {} : { reason: p.reason }),
        ...(p?.error === undefined ? {} : { error: p.error }),
        ...(this.paused.has(s.name) ? { paused: true as const } : {}),
      };
    });
    const { capacity } = this.opts;
    return {
      time: new Date(this.opts.clock.now()).toISOString(),
      name: this.opts.name,
      capacity: { ...capacity, used },
      services,
    };
  }

  /** One full iteration: read, observe, plan, act. The loop calls it every interval; tests call it directly. */
  async tick(): Promise<Plan | undefined> {
    const started = this.timer();
    const { clock, capacity } = this.opts;
    await this.readSources();
    const observed = await this.observe();
    if (!observed) return undefined;
    const result = plan(
      { now: clock.now(), capacity, services: this.effective, readings: this.latest, observed },
      this.memory,
    );
    this.memory = result.memory;
    this.lastPlan = result.plan;
    this.report(result.plan);
    this.track(observed);
    await this.reconcile(observed);
    this.tickSeconds.observe(Math.max(0, this.timer() - started) / 1000);
    return result.plan;
  }

  /**
   * Changes a service's min, max or priority at run time, validated as the config is (ConfigError when
   * not; UnknownServiceError for a name not configured). The next plan uses it.
   */
  update(service: string, change: ServiceChange): ServiceStatus {
    const i = this.indexOf(service);
    const before = this.policies[i] as ServicePolicy;
    const after = applyChange(before, change);
    this.policies = this.policies.with(i, after);
    this.refreshEffective();
    const what = describeChange(before, after);
    this.opts.logger.log('info', `changed ${service}: ${what}`);
    this.emitLive({ kind: 'change', service, message: `changed ${service}: ${what}` });
    return this.status(service);
  }

  /**
   * Freezes a service at the replicas it has now (running and starting): from the next plan on it is neither
   * scaled up nor down, nor preempted, until resumed. Its min and max still bound the frozen count.
   */
  pause(service: string): ServiceStatus {
    this.indexOf(service);
    if (!this.paused.has(service)) {
      const o = this.observed.get(service) ?? NONE_OBSERVED;
      const count = o.running + o.starting;
      this.paused.set(service, count);
      this.refreshEffective();
      this.opts.logger.log('info', `paused ${service} at ${count} replicas`);
      this.emitLive({ kind: 'change', service, message: `paused ${service} at ${count} replica(s)` });
    }
    return this.status(service);
  }

  /** Lets the planner scale a paused service again. */
  resume(service: string): ServiceStatus {
    this.indexOf(service);
    if (this.paused.delete(service)) {
      this.refreshEffective();
      this.opts.logger.log('info', `resumed ${service}`);
      this.emitLive({ kind: 'change', service, message: `resumed ${service}` });
    }
    return this.status(service);
  }

  /** Counters and histograms for /metrics; live objects, read them, do not change them. */
  metrics(): ControllerMetrics {
    return { tickSeconds: this.tickSeconds, services: this.perService };
  }

  private indexOf(service: string): number {
    const i = this.policies.findIndex((s) => s.name === service);
    if (i < 0) throw new UnknownServiceError(service);
    return i;
  }

  private status(service: string): ServiceStatus {
    return this.snapshot().services.find((s) => s.name === service) as ServiceStatus;
  }

  /** A new list (the planner sorts each list once, by identity), with paused services pinned. */
  private refreshEffective(): void {
    this.effective = this.policies.map((s) => {
      const frozen = this.paused.get(s.name);
      if (frozen === undefined) return s;
      const count = Math.min(s.max, Math.max(s.min, frozen));
      return { ...s, min: count, max: count };
    });
  }

  /** Starts or stops each service's time-to-desired clock. */
  private track(observed: ReadonlyMap<string, Observed>): void {
    const current = this.lastPlan;
    if (!current) return;
    const now = this.opts.clock.now();
    for (const p of current.services) {
      const o = observed.get(p.name) ?? NONE_OBSERVED;
      const settled = o.running === p.desired && o.starting === 0;
      const since = this.unsettled.get(p.name);
      if (!settled && since === undefined) this.unsettled.set(p.name, now);
      if (settled) this.because.delete(p.name);
      if (settled && since !== undefined) {
        this.unsettled.delete(p.name);
        this.perService.get(p.name)?.timeToDesired.observe((now - since) / 1000);
      }
    }
  }

  private async runLoop(): Promise<void> {
    const { clock, intervalMs, logger } = this.opts;
    while (!this.stopped) {
      const started = clock.now();
      try {
        await this.tick();
      } catch (error) {
        // A bug, not a fault of a source or back-end (those are handled where they happen): keep going.
        logger.log('error', 'tick failed', { error: errorMessage(error) });
        this.emit('error', `tick failed: ${errorMessage(error)}`);
      }
      const rest = intervalMs - (clock.now() - started);
      await clock.sleep(Math.max(0, rest), this.loop.signal);
    }
  }

  /**
   * Starts a read for every source with none in flight, and waits for them, but no longer than a tick. A read
   * still running after readTimeoutMs is aborted and counts as a failure; its late answer is ignored.
   */
  private async readSources(): Promise<void> {
    const { clock, readTimeoutMs, intervalMs } = this.opts;
    const now = clock.now();
    // Reads started together time out together: one AbortController serves the whole batch.
    let batch: AbortController | undefined;
    const waiting: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.read) {
        if (now - slot.read.started < readTimeoutMs) {
          waiting.push(slot.read.done);
          continue;
        }
        slot.read.abort.abort();
        slot.read = undefined;
        this.latest.set(slot.name, { ok: false, error: `no answer within ${readTimeoutMs}ms` });
        this.countSourceError(slot.name);
      }
      batch ??= new AbortController();
      const read: Read = { started: now, abort: batch, done: Promise.resolve() };
      read.done = slot.source
        .read(batch.signal)
        .catch((error): SourceResult => ({ ok: false, error: errorMessage(error) }))
        .then((result) => {
          if (slot.read !== read) return; // timed out meanwhile
          if (!result.ok) this.countSourceError(slot.name);
          this.latest.set(slot.name, result);
          slot.read = undefined;
        });
      slot.read = read;
      waiting.push(read.done);
    }
    if (waiting.length === 0) return;
    const all = Promise.all(waiting).then(() => true);
    // Most reads answer at once (in-memory sources, cached values): only a read still running after this
    // turn of the event loop needs a timer to bound the wait.
    const settled = await Promise.race([
      all,
      new Promise<false>((resolve) => setImmediate(() => resolve(false))),
    ]);
    // No abort for this sleep: aborting costs more (an AbortError per tick) than letting the timer lapse.
    if (!settled) await Promise.race([all, clock.sleep(Math.min(intervalMs, readTimeoutMs))]);
  }

  private async observe(): Promise<ReadonlyMap<string, Observed> | undefined> {
    try {
      // Back-ends bound their own calls; this signal only ends them when the loop stops.
      this.observed = await this.opts.scheduler.observe(this.loop.signal);
      this.clearProblem('scheduler');
      this.track(this.observed);
      return this.observed;
    } catch (error) {
      this.problem('scheduler', undefined, `cannot observe replicas: ${errorMessage(error)}`);
      return undefined;
    }
  }

  private requestReconcile(): void {
    if (this.stopped) return;
    void this.reconcile();
  }

  /**
   * Acts on the difference between desired and observed; runs one at a time, re-running if asked meanwhile.
   * `fresh` is an observation just made (by the tick), saving a second one.
   */
  private reconcile(fresh?: ReadonlyMap<string, Observed>): Promise<void> {
    if (this.reconciling) {
      this.dirty = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      let observed = fresh;
      do {
        this.dirty = false;
        await this.reconcileOnce(observed);
        observed = undefined;
      } while (this.dirty && !this.stopped);
    })().finally(() => {
      this.reconciling = undefined;
      // A request that came after the loop's last check, but before this, would be lost otherwise.
      if (this.dirty) this.requestReconcile();
    });
    return this.reconciling;
  }

  private async reconcileOnce(fresh?: ReadonlyMap<string, Observed>): Promise<void> {
    const current = this.lastPlan;
    if (!current || this.stopped || !this.mayAct()) return;
    const observed = fresh ?? (await this.observe());
    if (!observed) return;
    const now = this.opts.clock.now();
    const desired = new Map(current.services.map((s) => [s.name, s]));
    const items = this.effective.map((s) => {
      const o = observed.get(s.name) ?? NONE_OBSERVED;
      const flight = this.inFlight.get(s.name)?.target;
      const waiting = this.backoff.get(s.name)?.waiting(now) ?? false;
      // A service waiting out a backoff is left alone, as if a call were in flight for what it has.
      const held = flight ?? (waiting ? o.running + o.starting : undefined);
      return {
        name: s.name,
        priority: s.priority,
        resources: s.resources,
        desired: desired.get(s.name)?.desired ?? o.running + o.starting,
        observed: o,
        ...(held === undefined ? {} : { inFlight: held }),
      };
    });
    for (const [name, target] of admit(items, this.opts.capacity)) {
      const o = observed.get(name) ?? NONE_OBSERVED;
      const active = o.running + o.starting;
      const planned = desired.get(name);
      const pending = this.because.get(name);
      const reason =
        planned?.reason ??
        (pending && pending.desired === planned?.desired ? pending.reason : undefined) ??
        (target > active
          ? `replacing ${target - active} replica(s) of ${name} that stopped`
          : `${name} above plan`);
      void this.call(name, target, reason, true, active);
    }
  }

  /** One scale call; at most one per service at a time. */
  private call(
    service: string,
    replicas: number,
    reason: string,
    retry: boolean,
    from: number,
  ): Promise<void> {
    const existing = this.inFlight.get(service);
    if (existing) return existing.done.then(() => this.call(service, replicas, reason, retry, from));
    const { scheduler, logger, clock } = this.opts;
    const done = (async () => {
      // Fencing: a deposed leader must not act, even on a call decided while it still led.
      if (!this.mayAct()) return;
      logger.log('info', `scale ${service} to ${replicas}`, { reason });
      const up = replicas > from;
      const actions = this.perService.get(service)?.scaleActions;
      const key = `${up ? 'up' : 'down'} ${scaleCause(reason)}`;
      actions?.set(key, (actions.get(key) ?? 0) + 1);
      this.emit('scale', `${service} → ${replicas}: ${reason}`, service, {
        kind: up ? 'start' : 'stop',
        message: `${up ? 'start' : 'stop'} ${service} ${from}→${replicas}: ${reason}`,
        reason,
        from,
        to: replicas,
      });
      try {
        await scheduler.scale(service, replicas, reason);
        this.backoff.delete(service);
        this.clearProblem(`scale:${service}`, service);
      } catch (error) {
        const backoff = this.backoff.get(service) ?? new Backoff();
        this.backoff.set(service, backoff);
        const delay = backoff.fail(clock.now());
        this.problem(
          `scale:${service}`,
          service,
          `scaling ${service} to ${replicas} failed: ${errorMessage(error)}${retry ? ` (retrying in ${delay}ms)` : ''}`,
        );
        if (retry && !this.stopped) {
          void clock.sleep(delay, this.loop.signal).then(() => this.requestReconcile());
        }
      } finally {
        this.inFlight.delete(service);
      }
    })();
    this.inFlight.set(service, { target: replicas, done });
    return done.then(() => this.requestReconcile());
  }

  private mayAct(): boolean {
    return this.opts.canAct?.() ?? true;
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0 || this.reconciling) {
      await Promise.all([...this.inFlight.values()].map((f) => f.done));
      await this.reconciling;
    }
  }

  /** Emits plan events for changes, and error / recovered events when a source's state changes. */
  private report(p: Plan): void {
    for (const s of p.services) {
      if (s.error !== undefined)
        this.problem(`source:${s.name}`, s.name, `${s.name}: ${s.reason ?? s.error}`);
      else {
        this.clearProblem(`source:${s.name}`, s.name);
        if (s.reason) {
          this.because.set(s.name, { desired: s.desired, reason: s.reason });
          this.emit('plan', s.reason, s.name, {
            kind: isPreemption(s.reason) ? 'preempt' : 'plan',
            message: s.reason,
            reason: s.reason,
          });
        }
      }
    }
  }

  private problem(key: string, service: string | undefined, message: string): void {
    if (this.reported.get(key) === message) return;
    this.reported.set(key, message);
    this.opts.logger.log('warn', message);
    this.emit('error', message, service);
  }

  private clearProblem(key: string, service?: string): void {
    if (!this.reported.has(key)) return;
    this.reported.delete(key);
    const message = `${key.replace(/^[a-z]+:/, '')}: recovered`;
    this.opts.logger.log('info', message);
    this.emit('recovered', message, service);
  }

  private countSourceError(service: string): void {
    const m = this.perService.get(service);
    if (m) m.sourceErrors++;
  }

  /**
   * Tells subscribers (core's event kinds) and the live log (finer kinds: start, stop, preempt). `live`
   * overrides what the log records; by default it records the same event.
   */
  private emit(
    kind: EventKind,
    message: string,
    service?: string,
    live?: Omit<LiveEventInput, 'time' | 'service'>,
  ): void {
    const event: ControllerEvent = {
      kind,
      time: new Date(this.opts.clock.now()).toISOString(),
      message,
      ...(service === undefined ? {} : { service }),
    };
    for (const l of this.listeners) l(event);
    const liveKind = kind === 'scale' || kind === 'replica' ? 'plan' : kind;
    this.log.append({
      kind: liveKind,
      time: event.time,
      message,
      ...(service === undefined ? {} : { service }),
      ...live,
    });
  }

  /** An event only the live log shows (core has no kind for it yet). */
  private emitLive(event: Omit<LiveEventInput, 'time'>): void {
    this.log.append({ time: new Date(this.opts.clock.now()).toISOString(), ...event });
  }
}
