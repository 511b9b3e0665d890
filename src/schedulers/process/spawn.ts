// Starting a process replica: its pending record first, then the spawn in a session and process group of
// its own (MICROSCALER_INSTANCE/SERVICE/REPLICA in its environment, stdout and stderr to its log file),
// then the record with its pid. So at every moment a replica that runs has a record: if microscaler dies
// between the spawn and the pid, the next one finds the process by the replica id in its environment
// (/proc/<pid>/environ). A record that cannot be written means no spawn (or, for the pid, an immediate
// SIGKILL): a replica never runs untracked, e.g. when the disk is full. Its session of its own orphans its
// process group from the start, so the kernel's SIGHUP+SIGCONT to a group that *becomes* orphaned with
// stopped members never fires when microscaler dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { errorMessage } from '../../core/errors.js';
import { SERVICE_NAME } from '../../core/names.js';
import type { RunSpec } from '../../core/types.js';
import { CRASH_WINDOW_MS, type CrashLoops } from './crash-loop.js';
import type { Freezer } from './freeze.js';
import { readProcStat, SELF } from './proc.js';
import { type ReplicaRecord, saveRecord, wallTime } from './records.js';
import { isStopping, newId, type ProcessCore, type Replica } from './replica.js';
import type { ReplicaLogs } from './replica-logs.js';
import { spawnFailure } from './run.js';
import type { Stopper } from './stop.js';

/** Deaths by these are stops by someone (a user, another instance), not failed starts. */
const STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL']);

/** The other parts a start uses, and the folders it writes in. */
export interface SpawnDeps {
  readonly stopper: Stopper;
  readonly freezer: Freezer;
  readonly crashes: CrashLoops;
  readonly logs: ReplicaLogs;
  readonly stateDir: string;
  readonly logsDir: string;
}

/** Starts replicas into a ProcessCore's table. */
export class Spawner {
  private readonly core: ProcessCore;
  private readonly deps: SpawnDeps;
  private dirsReady: Promise<void> | undefined;

  constructor(core: ProcessCore, deps: SpawnDeps) {
    this.core = core;
    this.deps = deps;
  }

  ensureDirs(): Promise<void> {
    this.dirsReady ??= Promise.all([
      mkdir(this.core.recordsDir, { recursive: true }),
      mkdir(this.deps.logsDir, { recursive: true }),
    ]).then(
      () => undefined,
      (error: unknown) => {
        this.dirsReady = undefined; // try again next time: the user may fix it
        throw new Error(
          `process scheduler: state directory ${this.deps.stateDir} is not usable: ${errorMessage(error)}`,
        );
      },
    );
    return this.dirsReady;
  }

  /**
   * Starts one replica: its pending record first, then the spawn, then the record with its pid. Resolves
   * once it runs and its record is complete (and, for a `warm` one, once it is frozen); rejects (with
   * nothing left running) otherwise.
   */
  async start(service: string, run: RunSpec, warm: boolean): Promise<void> {
    // The name becomes part of a log file's path: only a validated name may (the config allows no other).
    if (!SERVICE_NAME.test(service))
      throw new Error(`process scheduler: refusing service name ${JSON.stringify(service)}`);
    const command = run.command ?? [];
    const file = command[0];
    if (!file) throw new Error(`process scheduler: service "${service}" has no run.command`);
    const where = run.cwd ? ` in ${run.cwd}` : '';
    const failure = (why: string) =>
      new Error(
        `process scheduler: cannot start a replica of "${service}" (command ${JSON.stringify(command)}${where}): ${why}`,
      );
    const noRecord = (error: Error) =>
      failure(`cannot write its record in ${this.core.recordsDir}: ${error.message}`);

    const startedAt = wallTime(this.core.ctx.clock);
    const id = newId(startedAt);
    const r = this.core.table.track({
      id,
      service,
      pid: undefined,
      startTime: undefined,
      startedAt,
      state: warm ? 'warming' : 'starting',
      child: undefined,
      adopted: false,
      command,
      frozen: false,
    });
    const pending: ReplicaRecord = {
      id,
      service,
      instance: this.core.ctx.instance,
      command: [...command],
      startedAt: r.startedAt,
      ...(SELF ? { writer: SELF } : {}),
    };
    // The record before the process: a replica that runs always has one, even if we die right after.
    r.saved = saveRecord(this.core.recordsDir, pending);
    const pendingError = await r.saved;
    // One turn of the event loop before the spawn: a stop that comes in the same burst (a scale-down right
    // after the scale-up, an exit) cancels it, and no process is forked for nothing.
    if (!pendingError) await new Promise((resolve) => setImmediate(resolve));
    if (pendingError || isStopping(r) || this.core.modes.closed) {
      await this.deps.stopper.remove(r);
      if (pendingError) throw noRecord(pendingError);
      return; // stopped (or closed) before it was spawned: nothing to run
    }

    const logPath = this.deps.logs.path(service, id);
    let logFd: number;
    try {
      logFd = openSync(logPath, 'a');
    } catch (error) {
      await this.deps.stopper.remove(r);
      throw failure(`cannot open log ${logPath}: ${errorMessage(error)}`);
    }
    let child: ChildProcess;
    try {
      child = spawn(file, command.slice(1), {
        cwd: run.cwd,
        env: {
          ...process.env,
          ...run.env,
          MICROSCALER_INSTANCE: this.core.ctx.instance,
          MICROSCALER_SERVICE: service,
          MICROSCALER_REPLICA: id,
        },
        detached: true, // its own session and process group, so a stop reaches its children too
        stdio: ['ignore', logFd, logFd],
      });
    } catch (error) {
      await this.deps.stopper.remove(r);
      throw failure(errorMessage(error));
    } finally {
      closeSync(logFd); // the child holds its own copy
    }
    child.unref(); // microscaler may exit while replicas keep running

    // Everything below up to `await` runs in this turn, before 'spawn' or 'error' can fire.
    const pid = child.pid;
    r.child = child;
    r.pid = pid;
    // uv_spawn returns after the exec (or its failure); an exited child stays a zombie until we reap it.
    r.startTime = pid === undefined ? undefined : readProcStat(pid)?.startTime;
    if (pid !== undefined) {
      const startTime = r.startTime;
      r.saved =
        startTime === undefined
          ? Promise.resolve(new Error(`cannot read /proc/${pid}/stat`))
          : saveRecord(this.core.recordsDir, { ...pending, pid, startTime });
    }

    let spawned = false;
    const spawnedAt = this.core.ctx.clock.now();
    const started = new Promise<void>((res, rej) => {
      child.once('spawn', () => {
        spawned = true;
        // In a crash loop a replica is only starting until it has lasted: state never says `running` for
        // replicas that exit at once.
        if (r.state === 'starting' && !this.deps.crashes.failing(service)) r.state = 'running';
        else if (r.state === 'starting') this.promoteLater(r);
        this.core.table.notify(service);
        res();
      });
      child.on('error', (error) => {
        if (spawned) {
          this.core.ctx.logger.log('warn', `replica ${id} of ${service}: ${error.message}`, {
            service,
            id,
            pid,
          });
          return;
        }
        void rm(logPath, { force: true }).catch(() => {}); // empty: the command never ran
        void this.deps.stopper.remove(r).then(() => rej(failure(spawnFailure(error, run))));
      });
    });
    child.once('exit', (code, signal) => {
      // Killed with a stop signal (a user, another instance sharing the folder): stopped, not crashed.
      if (spawned && r.state !== 'stopping' && !r.frozen && !(signal && STOP_SIGNALS.has(signal))) {
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        this.deps.crashes.exited(
          service,
          this.core.ctx.clock.now() - spawnedAt,
          `replicas of ${service} exit right after starting (${how}; output in ${logPath})`,
        );
      }
      if (this.deps.stopper.lingering(r, { code, signal })) return; // the poll removes it once its group is empty
      this.deps.stopper.logGone(r, { code, signal });
      void this.deps.stopper.remove(r);
    });

    await started;
    const saveError = await r.saved;
    if (saveError) {
      // Its record has no pid: a restart would still find it by its environment, but a replica we could
      // not record is not one we want; it goes at once, without a grace period.
      this.deps.stopper.kill(r);
      throw noRecord(saveError);
    }
    // A warm one (or one a scale-down turned into a warm one before it ran) is frozen now that it runs.
    if (r.state === 'warming') await this.deps.freezer.freeze(r, true);
  }

  /** Counts a replica started in a crash loop as running once it has lasted the crash window. */
  private promoteLater(r: Replica): void {
    setTimeout(() => {
      if (!this.core.table.holds(r) || r.state !== 'starting') return;
      r.state = 'running';
      this.deps.crashes.lasted(r.service);
      this.core.table.notify(r.service);
    }, CRASH_WINDOW_MS).unref();
  }
}
