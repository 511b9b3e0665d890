import { errorMessage, TerminalError } from '../core/errors.js';
import { type Clock, canFreeze, type Logger, type Scheduler, type Source } from '../core/ports.js';
import type { Capacity, Observed, Plan, ServicePolicy, Snapshot } from '../core/types.js';
import { NONE_OBSERVED } from '../core/types.js';
import { EMPTY_MEMORY, type PlannerMemory, plan } from '../planner/index.js';
import { Backoff } from './backoff.js';
import { CallLedger } from './call-ledger.js';
import { decide, type RemovedNotice } from './decide.js';
import { EventLog, isPreemption } from './event-log.js';
import { TickLoop } from './loop.js';
import {
  type ControllerMetrics,
  Histogram,
  newServiceMetrics,
  type ServiceMetrics,
  TICK_BUCKETS,
} from './metrics.js';
import { EXIT } from './reasons.js';
import { capacityLeft, removedServices } from './removed.js';
import { type Listener, Reporter } from './reporter.js';
import { ScaleExecutor } from './scale-executor.js';
import { ServiceBook } from './service-book.js';
import { describeChange, type ServiceChange } from './service-change.js';
import { SourceReader } from './source-reader.js';
import { TerminalHolds } from './terminal-holds.js';
import { TimeToDesired } from './time-to-desired.js';
import { within } from './within.js';

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
  /**
   * How long the controller waits for one observe() before it counts as failed (the tick then plans
   * nothing, the service counts stay as last seen); 15 s by default. Back-ends bound their own calls (10 s
   * for the cluster APIs): this is the backstop for one that does not, so that a hung back-end cannot
   * freeze the loop.
   */
  readonly observeTimeoutMs?: number;
  /**
   * How long the controller waits for one scale() before it gives up on it, reports it, and retries with
   * backoff; 60 s by default, above the longest a healthy back-end takes (a Marathon deployment lock waits
   * 20 s, then a 10 s call). The abandoned call may still land: until it settles, the replicas it asked
   * for stay reserved, so capacity is never exceeded.
   */
  readonly scaleTimeoutMs?: number;
  /**
   * Replicas of services the back-end reports but the config no longer has (renamed or deleted): stopped,
   * oldest first, by default; kept running when true (`run --keep-removed`). Either way they count against
   * capacity while they hold it.
   */
  readonly keepRemoved?: boolean;
}

export const DEFAULT_OBSERVE_TIMEOUT_MS = 15_000;
export const DEFAULT_SCALE_TIMEOUT_MS = 60_000;

/** A service as a running instance reports it, with whether it is paused. */
export type ServiceStatus = Snapshot['services'][number] & { readonly paused?: true };
export interface ControllerSnapshot extends Snapshot {
  readonly services: readonly ServiceStatus[];
}

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
  private observed: ReadonlyMap<string, Observed> = new Map();
  private readonly reader: SourceReader;
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
  private readonly scaleTimeoutMs: number;
  private observeErrors = 0;
  /** Ticks every interval, or sooner when nudged. */
  private readonly ticker: TickLoop;
  /** Every event, with start/stop/preempt/change told apart, for the live stream. */
  readonly log: EventLog;
  /** Events and problems. */
  private readonly reporter: Reporter;
  /** Removed services already told about (once each, until they are gone). */
  private readonly removedTold = new Set<string>();
  /** Services whose last call failed with a TerminalError: not called again until something changes. */
  private readonly holds = new TerminalHolds();
  /** Set while observe() is not asked again after a TerminalError: until when. */
  private observeHeldUntil: number | undefined;
  private readonly observeBackoff = new Backoff(1000, 60_000);

  constructor(options: ControllerOptions) {
    this.opts = options;
    this.book = new ServiceBook(options.services);
    for (const s of options.services) this.perService.set(s.name, newServiceMetrics());
    this.timer = options.timer ?? (() => performance.now());
    this.freezing = canFreeze(options.scheduler);
    const clock = options.clock;
    this.wall = clock.wall ? () => (clock.wall as () => number)() : () => clock.now();
    this.observeTimeoutMs = options.observeTimeoutMs ?? DEFAULT_OBSERVE_TIMEOUT_MS;
    this.scaleTimeoutMs = options.scaleTimeoutMs ?? DEFAULT_SCALE_TIMEOUT_MS;
    this.log = new EventLog(options.eventHistory);
    this.reporter = new Reporter(options.logger, this.wall, this.log);
    this.reader = new SourceReader({
      sources: options.sources,
      clock,
      readTimeoutMs: options.readTimeoutMs,
      intervalMs: options.intervalMs,
      onError: (service) => this.countSourceError(service),
    });
    this.executor = new ScaleExecutor({
      scheduler: options.scheduler,
      logger: options.logger,
      clock,
      scaleTimeoutMs: this.scaleTimeoutMs,
      ledger: this.ledger,
      reporter: this.reporter,
      holds: this.holds,
      metrics: this.perService,
      signal: this.loop.signal,
      mayAct: () => this.mayAct(),
      stopped: () => this.stopped,
      observed: (service) => this.observed.get(service),
      reconcile: () => this.requestReconcile(),
    });
    this.ticker = new TickLoop({
      clock,
      intervalMs: options.intervalMs,
      signal: this.loop.signal,
      stopped: () => this.stopped,
      tick: () => this.tick(),
      failed: (error) => {
        options.logger.log('error', 'tick failed', { error: errorMessage(error) });
        this.reporter.emit('error', `tick failed: ${errorMessage(error)}`);
      },
    });
    this.unwatch = options.scheduler.watch?.((service) => {
      this.releaseHold(service, 'the back-end reports a change');
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
    const frozen = this.freezing ? 0 : undefined;
    for (const s of this.opts.services) {
      const o = this.observed.get(s.name) ?? NONE_OBSERVED;
      await this.executor.call(s.name, 0, EXIT, false, o.running + o.starting, frozen);
    }
    // Replicas of removed services go too, unless the user keeps them: then they are not waited for.
    const keep = this.opts.keepRemoved === true;
    if (!keep) {
      for (const r of removedServices(this.observed, this.book.names)) {
        if (r.active > 0) await this.executor.call(r.name, 0, EXIT, false, r.active, frozen);
      }
    }
    const counted = (name: string) => !keep || this.book.names.has(name);
    while (clock.now() < deadline) {
      const seen = await within(
        clock,
        scheduler.observe(AbortSignal.timeout(this.observeTimeoutMs)),
        this.observeTimeoutMs,
      ).catch(() => undefined);
      const left = seen && [...seen.value].filter(([name]) => counted(name));
      if (left?.every(([, o]) => occupying(o) + (o.frozen ?? 0) === 0)) return true;
      await clock.sleep(50);
    }
    return false;
  }

  subscribe(listener: Listener): () => void {
    return this.reporter.subscribe(listener);
  }

  snapshot(): ControllerSnapshot {
    const planned = new Map(this.lastPlan?.services.map((s) => [s.name, s]));
    let used = 0;
    const services = this.book.all.map((s): ServiceStatus => {
      const o = this.observed.get(s.name) ?? NONE_OBSERVED;
      const p = planned.get(s.name);
      used += occupying(o);
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
        ...(p?.reason === undefined ? {} : { reason: p.reason.text, cause: p.reason.cause }),
        ...(p?.error === undefined ? {} : { error: p.error }),
        ...(this.freezing ? { warm: o.frozen ?? 0 } : {}),
        ...this.scaleErrorOf(s.name),
        ...(this.book.isPaused(s.name) ? { paused: true as const } : {}),
      };
    });
    const { capacity } = this.opts;
    const schedulerError = this.reporter.problemOf('scheduler');
    const removed = removedServices(this.observed, this.book.names);
    for (const r of removed) used += r.holding;
    return {
      time: new Date(this.wall()).toISOString(),
      name: this.opts.name,
      capacity: { ...capacity, used },
      services,
      ...(removed.length === 0
        ? {}
        : {
            removed: removed.map((r) => ({
              name: r.name,
              replicas: r.holding,
              kept: this.opts.keepRemoved === true,
            })),
          }),
      ...(schedulerError === undefined ? {} : { schedulerError }),
    };
  }

  /** One full iteration: read, observe, plan, act. The loop calls it every interval; tests call it directly. */
  async tick(): Promise<Plan | undefined> {
    const started = this.timer();
    const { clock, capacity } = this.opts;
    await this.reader.read();
    const observation = await this.observe();
    if (!observation) return undefined;
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
    this.report(result.plan);
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
    const { before, after } = this.book.update(service, change);
    this.releaseHold(service, 'its settings changed');
    const what = describeChange(before, after);
    this.opts.logger.log('info', `changed ${service}: ${what}`);
    this.reporter.emitLive({ kind: 'change', service, message: `changed ${service}: ${what}` });
    return this.status(service);
  }

  /**
   * Freezes a service at the replicas it has now (running and starting): from the next plan on it is neither
   * scaled up nor down, nor preempted, until resumed. Its min and max still bound the frozen count.
   */
  pause(service: string): ServiceStatus {
    const o = this.observed.get(service) ?? NONE_OBSERVED;
    const count = o.running + o.starting;
    if (this.book.pause(service, count)) {
      this.opts.logger.log('info', `paused ${service} at ${count} replicas`);
      this.reporter.emitLive({
        kind: 'change',
        service,
        message: `paused ${service} at ${count} replica(s)`,
      });
    }
    return this.status(service);
  }

  /** Lets the planner scale a paused service again. */
  resume(service: string): ServiceStatus {
    if (this.book.resume(service)) {
      this.releaseHold(service, 'it was resumed');
      this.opts.logger.log('info', `resumed ${service}`);
      this.reporter.emitLive({ kind: 'change', service, message: `resumed ${service}` });
    }
    return this.status(service);
  }

  /** Counters and histograms for /metrics; live objects, read them, do not change them. */
  metrics(): ControllerMetrics {
    return { tickSeconds: this.tickSeconds, services: this.perService, observeErrors: this.observeErrors };
  }

  private scaleErrorOf(service: string): { scaleError?: string } {
    const message = this.reporter.problemOf(`scale:${service}`);
    return message === undefined ? {} : { scaleError: message };
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

  private async observe(): Promise<Observation | undefined> {
    const seq = this.ledger.seq;
    // A back-end that answered with a TerminalError (credentials refused, say) is not asked every tick.
    if (this.observeHeldUntil !== undefined && this.opts.clock.now() < this.observeHeldUntil)
      return undefined;
    try {
      // Back-ends bound their own calls; this signal only ends them when the loop stops. The controller
      // stops waiting after observeTimeoutMs in any case (a hung back-end must not freeze the loop).
      const seen = await within(
        this.opts.clock,
        this.opts.scheduler.observe(this.loop.signal),
        this.observeTimeoutMs,
      );
      if (!seen) {
        this.observeErrors++;
        this.reporter.problem(
          'scheduler',
          undefined,
          `cannot observe replicas: no answer within ${this.observeTimeoutMs}ms`,
        );
        return undefined;
      }
      this.observed = seen.value;
      this.observeHeldUntil = undefined;
      this.observeBackoff.reset();
      this.reporter.clearProblem('scheduler', undefined, 'the back-end answers again');
      this.settling.track(this.lastPlan, this.observed, this.opts.clock.now());
      return { map: seen.value, seq };
    } catch (error) {
      this.observeErrors++;
      if (error instanceof TerminalError) {
        const delay = this.observeBackoff.fail(this.opts.clock.now());
        this.observeHeldUntil = this.opts.clock.now() + delay;
        this.reporter.problem(
          'scheduler',
          undefined,
          `cannot observe replicas: ${errorMessage(error)} (not asked every tick meanwhile: again after 1s, doubling up to 60s)`,
        );
        return undefined;
      }
      this.reporter.problem('scheduler', undefined, `cannot observe replicas: ${errorMessage(error)}`);
      return undefined;
    }
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
    const observed = observation.map;
    const decision = decide({
      plan: current,
      observed,
      now: this.opts.clock.now(),
      ledger: this.ledger,
      held: (service) => this.isHeld(service, observed.get(service)),
      services: this.book.effective,
      names: this.book.names,
      capacity: this.opts.capacity,
      freezing: this.freezing,
      pending: this.settling.pending,
      keepRemoved: this.opts.keepRemoved === true,
    });
    for (const c of decision.calls) {
      void this.executor.call(c.service, c.replicas, c.reason, true, c.active, c.frozen);
    }
    this.actOnRemoved(decision.removed);
  }

  /** Tells once about each removed service the back-end reports, and makes the stop calls decide() asks for. */
  private actOnRemoved(removed: readonly RemovedNotice[]): void {
    for (const name of this.removedTold) {
      if (!removed.some((r) => r.service.name === name)) this.removedTold.delete(name);
    }
    for (const { service: r, message, stop } of removed) {
      if (!this.removedTold.has(r.name)) {
        this.removedTold.add(r.name);
        this.opts.logger.log('warn', message, { service: r.name, replicas: r.holding });
        this.reporter.emit('plan', message, r.name);
      }
      if (stop)
        void this.executor.call(stop.service, stop.replicas, stop.reason, true, stop.active, stop.frozen);
    }
  }

  /** Whether a service is held after a TerminalError; a change of its object ends the hold. */
  private isHeld(service: string, observed: Observed | undefined): boolean {
    const state = this.holds.check(service, observed, this.opts.scheduler.revision?.(service));
    if (state === 'released') this.opts.logger.log('info', `${service}: its object changed, trying again`);
    return state === 'held';
  }

  private releaseHold(service: string, why: string): void {
    if (this.holds.release(service)) this.opts.logger.log('info', `${service}: ${why}, trying again`);
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

  /** Emits plan events for changes, and error / recovered events when a source's state changes. */
  private report(p: Plan): void {
    for (const s of p.services) {
      if (s.error !== undefined) {
        this.reporter.problem(`source:${s.name}`, s.name, `${s.name}: ${s.reason?.text ?? s.error}`);
      } else {
        this.reporter.clearProblem(`source:${s.name}`, s.name, 'its source answers again');
        if (s.reason) {
          this.settling.changed(s.name, s.desired, s.reason);
          this.reporter.emit('plan', s.reason.text, s.name, {
            kind: isPreemption(s.reason) ? 'preempt' : 'plan',
            message: s.reason.text,
            reason: s.reason.text,
            cause: s.reason.cause,
          });
        }
      }
    }
  }

  private countSourceError(service: string): void {
    const m = this.perService.get(service);
    if (m) m.sourceErrors++;
  }
}

/** What takes replicas and cpu now: running, starting, stopping, and warming (started to be frozen). */
function occupying(o: Observed): number {
  return o.running + o.starting + o.stopping + (o.warming ?? 0);
}
