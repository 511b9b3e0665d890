// The embedded default back-end: each replica is a real OS process in its own process group, recorded in a
// state directory so that a restarted microscaler adopts what the previous one left running. This file is
// the ProcessScheduler: it wires the parts and converges a service to its target; close() leaves replicas
// running for the next run to adopt, stopAll() stops them.
//
// Layout of the state directory:
//   replicas/<id>.json        one record per replica (written atomically, removed when the replica is gone)
//   logs/<service>-<id>.log   the replica's stdout and stderr, capped and rotated (`.1`, `.2`), kept a while
//                             after it exits, for post-mortems (replica-logs.ts)
//
// Beside it: replica.ts (the replica table and what the parts share), spawn.ts (starting: record first,
// then the spawn), stop.ts (signals, stop with grace, removal), freeze.ts (SIGSTOP/SIGCONT, notices),
// scan.ts (adopting records), adoption.ts (judging one record against /proc), proc.ts (reading /proc),
// records.ts (the records' schema and write), lock.ts (one instance per state folder), run.ts (checking
// and explaining a `run`), crash-loop.ts (backoff for replicas that die at once), replica-logs.ts.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { errorMessage, TransientError } from '../../core/errors.js';
import type { FreezingScheduler, ReplicaPool } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { ClusterResources, Observed, RunSpec } from '../../core/types.js';
import { FreezeNotices } from '../freeze-notify.js';
import { machineResources } from '../node-resources.js';
import { PROCESS_ORDER, planPool } from '../pool-plan.js';
import { countReplicas } from '../replica-counts.js';
import { CrashLoops } from './crash-loop.js';
import { Freezer } from './freeze.js';
import { lockStateDir, type StateDirLock } from './lock.js';
import { defaultStateDir, NAME, removeStaleTmp } from './records.js';
import {
  type Modes,
  type ProcessCore,
  type Replica,
  type ReplicaInfo,
  ReplicaTable,
  waitGone,
} from './replica.js';
import { DEFAULT_LOG_SETTINGS, ReplicaLogs } from './replica-logs.js';
import { Scanner } from './scan.js';
import { Spawner } from './spawn.js';
import { Stopper } from './stop.js';

export const processSettingsSchema = z.strictObject({ stateDir: z.string().min(1).optional() });
export type ProcessSettings = z.infer<typeof processSettingsSchema>;

/** How long a scale call waits for frozen (or warming) replicas it removed with SIGKILL to be gone. */
const REMOVE_WAIT_MS = 2000;

/**
 * Replicas as local processes. Use `await ProcessScheduler.create(settings, ctx)`, which also adopts the
 * replicas a previous run left behind; with `new`, adoption happens on the first observe/scale/stopAll
 * (or an explicit `await init()`).
 */
export class ProcessScheduler implements FreezingScheduler {
  readonly stateDir: string;
  private readonly ctx: SchedulerContext;
  private readonly runs: ReadonlyMap<string, RunSpec>;
  private readonly table: ReplicaTable;
  private readonly modes: Modes = { closed: false, hurried: false, draining: false };
  /** Stops, signals and forgets replicas (stop.ts). */
  private readonly stopper: Stopper;
  /** Freezes, thaws and keeps frozen replicas in line with /proc (freeze.ts). */
  private readonly freezer: Freezer;
  /** Starts replicas: record, spawn, log file (spawn.ts). */
  private readonly spawner: Spawner;
  /** Replicas told of a freeze and in their grace (freeze-notify.ts). */
  private readonly notices: FreezeNotices;
  private ready: Promise<void> | undefined;
  private readonly logs: ReplicaLogs;
  /** Held from init() to close() unless `ha:` is configured (lock.ts). */
  private lock: StateDirLock | undefined;
  /** Replicas that exit right after starting make the next start of their service wait. */
  private readonly crashes: CrashLoops;
  /** Reads the records folder and adopts what it finds (scan.ts). */
  private readonly scanner: Scanner;

  static async create(settings: ProcessSettings, ctx: SchedulerContext): Promise<ProcessScheduler> {
    const scheduler = new ProcessScheduler(settings, ctx);
    await scheduler.init();
    return scheduler;
  }

  constructor(settings: ProcessSettings, ctx: SchedulerContext) {
    this.ctx = ctx;
    this.stateDir = settings.stateDir ? resolve(settings.stateDir) : defaultStateDir(ctx.instance);
    this.runs = new Map(ctx.services.map((s) => [s.name, s.run]));
    this.notices = new FreezeNotices(ctx.clock, ctx.logger);
    this.table = new ReplicaTable(ctx);
    const core: ProcessCore = {
      ctx,
      runs: this.runs,
      table: this.table,
      recordsDir: this.recordsDir,
      notices: this.notices,
      modes: this.modes,
    };
    this.stopper = new Stopper(core, () => this.logs.gone());
    this.freezer = new Freezer(core, this.stopper);
    this.logs = new ReplicaLogs({
      dir: this.logsDir,
      recordsDir: this.recordsDir,
      logger: ctx.logger,
      settings: (service) => this.runs.get(service)?.logs ?? DEFAULT_LOG_SETTINGS,
      live: () => this.table.values(),
    });
    this.crashes = new CrashLoops(ctx.clock);
    this.spawner = new Spawner(core, {
      stopper: this.stopper,
      freezer: this.freezer,
      crashes: this.crashes,
      logs: this.logs,
      stateDir: this.stateDir,
      logsDir: this.logsDir,
    });
    this.scanner = new Scanner(core, this.stopper, this.freezer);
  }

  /**
   * Locks the state directory (without `ha:`: one live instance per folder) and adopts the replicas
   * recorded in it. Idempotent.
   */
  init(): Promise<void> {
    this.ready ??= this.takeLock()
      .then(() => removeStaleTmp(this.recordsDir))
      .then(() => this.scanner.scan())
      .then(() => {
        if (!this.modes.closed) this.logs.start();
      });
    return this.ready;
  }

  private async takeLock(): Promise<void> {
    if (this.ctx.ha) return; // several instances on one folder, by design: the lease decides who acts
    const lock = await lockStateDir(this.stateDir, this.ctx.instance);
    if (this.modes.closed) await lock.release();
    else this.lock = lock;
  }

  async observe(_signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    await this.init();
    await this.scanner.scan(); // records another instance (an old leader) wrote since
    this.stopper.pollAdopted();
    this.freezer.syncIfDue();
    // frozen and warming only when there are some: a service that never freezes looks as it always did.
    return countReplicas(
      this.ctx.services.map((s) => s.name),
      this.table.values(),
      (r) => ({
        service: r.service,
        // A frozen replica being removed still holds its memory, and no CPU, until it is gone.
        as: r.state === 'stopping' && r.frozen ? 'frozen' : r.state,
        // Warming replicas in a freeze notice's grace: a scale-up takes them back (admit-frozen.ts, rule 3).
        noticed: r.state === 'warming' && this.notices.inGrace(r.id),
      }),
      'when-any',
    );
  }

  /**
   * Converges to `replicas` active (starting + running) replicas; frozen and warming replicas are left as
   * they are (while draining, a scale to zero takes them too). Resolves once new replicas run; surplus
   * ones are stopped in the background.
   */
  scale(service: string, replicas: number, reason: string): Promise<void> {
    return this.converge(service, replicas, reason, undefined);
  }

  /**
   * Freezes with SIGSTOP and thaws with SIGCONT: converges to `replicas` active replicas and `frozen`
   * frozen ones (counting those warming); see the FreezingScheduler port. Resolves once thaws, freezes and
   * removals of frozen replicas are done and new replicas run (warming ones frozen); surplus active
   * replicas are stopped in the background.
   */
  scaleWithPool(service: string, { replicas, frozen }: ReplicaPool, reason: string): Promise<void> {
    return this.converge(service, replicas, reason, frozen);
  }

  private async converge(
    service: string,
    replicas: number,
    reason: string,
    frozen: number | undefined,
  ): Promise<void> {
    this.assertOpen();
    const run = this.runs.get(service);
    // A service no longer in the config can only be stopped (its replicas were adopted to be counted).
    const removed = !run && replicas === 0 && [...this.table.values()].some((r) => r.service === service);
    if (!NAME.test(service) || !(run || removed)) {
      throw new Error(`process scheduler: unknown service "${service}"`);
    }
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new RangeError(`process scheduler: cannot scale "${service}" to ${replicas} replicas`);
    }
    if (frozen !== undefined && (!Number.isInteger(frozen) || frozen < 0)) {
      throw new RangeError(`process scheduler: cannot keep ${frozen} frozen replicas of "${service}"`);
    }
    await this.init();
    await this.scanner.scan();
    this.freezer.syncFrozen(service);
    const log = (what: string, count: number) => {
      if (count > 0) {
        this.ctx.logger.log('info', `${what} ${count} replica(s) of ${service}`, { service, reason });
      }
    };
    // Draining: nothing stays, frozen and warming replicas included.
    const keep = frozen ?? (this.modes.draining && replicas === 0 ? 0 : undefined);
    const plan = planPool(this.members(service, run !== undefined), replicas, keep, {
      order: PROCESS_ORDER,
      noticed: (r) => this.freezer.noticed(r),
    });
    if (keep === undefined && plan.stop.length > 0) {
      log('stopping', plan.stop.length);
      for (const r of plan.stop) this.stopper.stop(r);
      return;
    }
    // Replicas told of a freeze and still in their grace are simply not frozen: the quickest of all.
    log('keeping (freeze called off)', this.freezer.takeBack([...plan.keep], plan.keep.length).length);
    log('thawing', plan.thaw.length);
    for (const r of plan.thaw) this.freezer.thaw(r);
    log('freezing', plan.freeze.length);
    log('stopping', plan.stop.length);
    for (const r of plan.stop) this.stopper.stop(r);
    const work = plan.freeze.map((r) => this.freezer.freeze(r));
    if (plan.remove.length > 0) {
      // Warming ones first (they hold nothing yet), then the newest frozen; never thawed, never graced.
      log('removing frozen', plan.remove.length);
      for (const r of plan.remove) this.stopper.kill(r);
      work.push(waitGone(plan.remove, REMOVE_WAIT_MS, this.ctx.clock));
    }
    let { cold, warm } = plan;
    // A crash loop: no new replica until its backoff is over (thaws, freezes and removals still happen).
    const blocked = cold + warm > 0 ? this.crashes.blocked(service) : undefined;
    if (blocked) {
      cold = 0;
      warm = 0;
    }
    if (cold + warm > 0) await this.spawner.ensureDirs();
    log('starting', cold);
    log('warming', warm);
    const starts = run
      ? [
          ...Array.from({ length: cold }, () => this.spawner.start(service, run, false)),
          ...Array.from({ length: warm }, () => this.spawner.start(service, run, true)),
        ]
      : [];
    const results = await Promise.allSettled([...work, ...starts]);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      const count = starts.length;
      const more = failed.length > 1 ? ` (${failed.length} of ${count} replicas failed)` : '';
      throw new Error(`${errorMessage(failed[0])}${more}`);
    }
    if (blocked) throw new TransientError(`process scheduler: ${blocked}`);
  }

  /**
   * One service's replicas for the pool plan: active ones newest first (surplus is taken from the front; a
   * removed service's oldest first, the replica that ran longest goes first), then the pool newest first.
   */
  private members(service: string, configured: boolean): Replica[] {
    const mine = [...this.table.values()].filter((r) => r.service === service);
    const newestFirst = (a: Replica, b: Replica) => b.startedAt - a.startedAt || b.seq - a.seq;
    const order = configured ? newestFirst : (a: Replica, b: Replica) => -newestFirst(a, b);
    const active = mine.filter((r) => r.state === 'starting' || r.state === 'running').sort(order);
    const pool = mine.filter((r) => r.state === 'frozen' || r.state === 'warming').sort(newestFirst);
    return [...active, ...pool];
  }

  watch(onChange: (service: string) => void): () => void {
    return this.table.watch(onChange);
  }

  /**
   * Stops timers and forgets subscribers, once the record removals under way are done (so that an exit
   * right after a drain leaves no record of a replica that is gone). Replicas keep running, so that the
   * next run adopts them.
   */
  /** This machine's cores and memory (capacity: { from: scheduler }). */
  async resources(): Promise<ClusterResources> {
    return machineResources();
  }

  async close(): Promise<void> {
    this.modes.closed = true;
    this.table.unwatchAll();
    this.stopper.close();
    // A replica in its freeze notice's grace is left running for the next run: told to go on, not frozen.
    const resumed = this.freezer.takeBack([...this.table.values()], Number.POSITIVE_INFINITY);
    for (const r of this.table.values()) {
      clearTimeout(r.killTimer);
      r.child?.unref();
      // What is left of a replica whose leader exited is on its way out: no next run could adopt it.
      if (r.leaderGone) this.stopper.signal(r, 'SIGKILL');
    }
    await Promise.all([...this.stopper.pending(), this.logs.close(), ...resumed]);
    await this.lock?.release();
    this.lock = undefined;
  }

  /**
   * The instance stops everything before it exits (drain, `--stop-on-exit`): from now on no replica is
   * left frozen or killed outright. A frozen one is continued (SIGCONT) before its SIGTERM, so it can act
   * on it, and gets SIGKILL only after its grace; a scale to zero takes frozen and warming replicas too.
   */
  beginDrain(): void {
    this.modes.draining = true;
  }

  /** Stops every replica this instance started or adopted; resolves once they have all exited. */
  async stopAll(): Promise<void> {
    this.assertOpen();
    await this.init();
    await this.scanner.scan();
    const all = [...this.table.values()];
    for (const r of all) this.stopper.stop(r);
    await Promise.all(all.map((r) => r.gone));
  }

  /** From now on every stop is a SIGKILL, and replicas already stopping get one now. */
  hurry(): void {
    this.stopper.hurry();
  }

  /** The replicas this instance owns (for status output and tests). */
  list(): ReplicaInfo[] {
    return [...this.table.values()].map((r) => ({
      id: r.id,
      service: r.service,
      pid: r.pid,
      state: r.state,
      startedAt: r.startedAt,
      adopted: r.adopted,
    }));
  }

  private get recordsDir(): string {
    return join(this.stateDir, 'replicas');
  }

  private get logsDir(): string {
    return join(this.stateDir, 'logs');
  }

  private assertOpen(): void {
    if (this.modes.closed) throw new Error('process scheduler: closed');
  }
}
