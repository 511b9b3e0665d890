// The embedded default back-end: each replica is a real OS process in its own process group, recorded in a
// state directory so that a restarted microscaler adopts what the previous one left running.
//
// Layout of the state directory:
//   replicas/<id>.json        one record per replica (written atomically, removed when the replica is gone)
//   logs/<service>-<id>.log   the replica's stdout and stderr (kept after it exits, for post-mortems)
//
// Ownership: a replica carries MICROSCALER_INSTANCE/SERVICE/REPLICA in its environment. A record is adopted
// only if its pid is alive with the recorded start time and those variables; otherwise the record is
// deleted and the process never signalled. A verified replica of a service that is no longer configured is
// left running and not owned (it may have been renamed): a warning says how to stop it.
// close() leaves replicas running for the next run to adopt; stopAll() stops them.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { Observed, RunSpec } from '../core/types.js';

export const processSettingsSchema = z.strictObject({ stateDir: z.string().min(1).optional() });
export type ProcessSettings = z.infer<typeof processSettingsSchema>;

/** Service names and replica ids: the only strings that ever become part of a path. */
const NAME = /^[a-z0-9][a-z0-9-]*$/;
/** Instance names become a directory name in the default state directory. */
const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DEFAULT_GRACE_MS = 5000;
const POLL_MS = 100;

const recordSchema = z.object({
  id: z.string().regex(NAME),
  service: z.string().regex(NAME),
  instance: z.string(),
  pid: z.number().int().gt(1),
  startTime: z.number().int().nonnegative(),
  command: z.array(z.string()),
  startedAt: z.number(),
});
/** What `<stateDir>/replicas/<id>.json` holds. */
export type ReplicaRecord = z.infer<typeof recordSchema>;

export type ReplicaState = 'starting' | 'running' | 'stopping';

/** One replica as list() reports it. */
export interface ReplicaInfo {
  readonly id: string;
  readonly service: string;
  readonly pid: number | undefined;
  readonly state: ReplicaState;
  readonly startedAt: number;
  /** True when a previous microscaler started it and this one adopted it. */
  readonly adopted: boolean;
}

interface Replica {
  readonly id: string;
  readonly service: string;
  readonly pid: number | undefined;
  /** Field 22 of /proc/<pid>/stat: tells this process apart from a later one with a reused pid. */
  readonly startTime: number | undefined;
  readonly startedAt: number;
  /** Start order within this instance: breaks ties between replicas started in the same millisecond. */
  readonly seq: number;
  state: ReplicaState;
  /** Absent for adopted replicas: they are not our children, so liveness comes from /proc. */
  readonly child: ChildProcess | undefined;
  killTimer?: NodeJS.Timeout;
  /** The record write; resolves to its error, if any (never rejects). Removal waits for it. */
  saved: Promise<Error | undefined>;
  readonly gone: Promise<void>;
  readonly markGone: () => void;
}

/** `$XDG_STATE_HOME/microscaler/<instance>`, or `~/.local/state/microscaler/<instance>`. */
export function defaultStateDir(instance: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!INSTANCE.test(instance)) {
    throw new ConfigError([
      `name: "${instance}" cannot name a state directory (use letters, digits, ".", "_", "-")`,
    ]);
  }
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state');
  return join(base, 'microscaler', instance);
}

/** State and start time of a process, from /proc/<pid>/stat; undefined when there is no such process. */
export function readProcStat(pid: number): { state: string; startTime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) may hold spaces and parentheses: the fixed fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]); // field 22
  if (!state || !Number.isInteger(startTime)) return undefined;
  return { state, startTime };
}

function isAlive(pid: number, startTime: number | undefined): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

function readEnviron(pid: number): Set<string> | undefined {
  try {
    return new Set(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0'));
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Sortable by start time, unique, and safe in a path. */
function newId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Replicas as local processes. Use `await ProcessScheduler.create(settings, ctx)`, which also adopts the
 * replicas a previous run left behind; with `new`, adoption happens on the first observe/scale/stopAll
 * (or an explicit `await init()`).
 */
export class ProcessScheduler implements Scheduler {
  readonly stateDir: string;
  private readonly ctx: SchedulerContext;
  private readonly runs: ReadonlyMap<string, RunSpec>;
  private readonly replicas = new Map<string, Replica>();
  private readonly subscribers = new Set<(service: string) => void>();
  private seq = 0;
  private closed = false;
  private ready: Promise<void> | undefined;
  private dirsReady: Promise<void> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  static async create(settings: ProcessSettings, ctx: SchedulerContext): Promise<ProcessScheduler> {
    const scheduler = new ProcessScheduler(settings, ctx);
    await scheduler.init();
    return scheduler;
  }

  constructor(settings: ProcessSettings, ctx: SchedulerContext) {
    this.ctx = ctx;
    this.stateDir = settings.stateDir ? resolve(settings.stateDir) : defaultStateDir(ctx.instance);
    this.runs = new Map(ctx.services.map((s) => [s.name, s.run]));
  }

  /** Adopts the replicas recorded in the state directory. Idempotent. */
  init(): Promise<void> {
    this.ready ??= this.adopt();
    return this.ready;
  }

  async observe(_signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    await this.init();
    this.pollAdopted();
    const counts = new Map<string, Record<ReplicaState, number>>();
    for (const s of this.ctx.services) counts.set(s.name, { starting: 0, running: 0, stopping: 0 });
    for (const r of this.replicas.values()) {
      const c = counts.get(r.service);
      if (c) c[r.state]++;
    }
    return counts;
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    this.assertOpen();
    const run = this.runs.get(service);
    if (!NAME.test(service) || !run) throw new Error(`process scheduler: unknown service "${service}"`);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new RangeError(`process scheduler: cannot scale "${service}" to ${replicas} replicas`);
    }
    await this.init();
    // Newest first: surplus replicas are taken from the front.
    const live = [...this.replicas.values()]
      .filter((r) => r.service === service && r.state !== 'stopping')
      .sort((a, b) => b.startedAt - a.startedAt || b.seq - a.seq);

    if (live.length > replicas) {
      const surplus = live.slice(0, live.length - replicas);
      this.ctx.logger.log('info', `stopping ${surplus.length} replica(s) of ${service}`, { service, reason });
      for (const r of surplus) this.stop(r);
      return;
    }
    if (live.length === replicas) return;

    await this.ensureDirs();
    const count = replicas - live.length;
    this.ctx.logger.log('info', `starting ${count} replica(s) of ${service}`, { service, reason });
    const results = await Promise.allSettled(Array.from({ length: count }, () => this.start(service, run)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      const more = failed.length > 1 ? ` (${failed.length} of ${count} replicas failed)` : '';
      throw new Error(`${errorMessage(failed[0])}${more}`);
    }
  }

  watch(onChange: (service: string) => void): () => void {
    // A wrapper, so that subscribing the same function twice gives two independent subscriptions.
    const subscriber = (service: string) => onChange(service);
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  /** Stops timers and forgets subscribers. Replicas keep running, so that the next run adopts them. */
  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    clearInterval(this.pollTimer);
    for (const r of this.replicas.values()) {
      clearTimeout(r.killTimer);
      r.child?.unref();
    }
  }

  /** Stops every replica this instance started or adopted; resolves once they have all exited. */
  async stopAll(): Promise<void> {
    this.assertOpen();
    await this.init();
    const all = [...this.replicas.values()];
    for (const r of all) this.stop(r);
    await Promise.all(all.map((r) => r.gone));
  }

  /** The replicas this instance owns (for status output and tests). */
  list(): ReplicaInfo[] {
    return [...this.replicas.values()].map((r) => ({
      id: r.id,
      service: r.service,
      pid: r.pid,
      state: r.state,
      startedAt: r.startedAt,
      adopted: r.child === undefined,
    }));
  }

  private get recordsDir(): string {
    return join(this.stateDir, 'replicas');
  }

  private get logsDir(): string {
    return join(this.stateDir, 'logs');
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('process scheduler: closed');
  }

  private ensureDirs(): Promise<void> {
    this.dirsReady ??= Promise.all([
      mkdir(this.recordsDir, { recursive: true }),
      mkdir(this.logsDir, { recursive: true }),
    ]).then(
      () => undefined,
      (error: unknown) => {
        this.dirsReady = undefined; // try again next time: the user may fix it
        throw new Error(
          `process scheduler: state directory ${this.stateDir} is not usable: ${errorMessage(error)}`,
        );
      },
    );
    return this.dirsReady;
  }

  /** Spawns one replica; resolves once it has started and its record is written. */
  private async start(service: string, run: RunSpec): Promise<void> {
    const command = run.command ?? [];
    const file = command[0];
    if (!file) throw new Error(`process scheduler: service "${service}" has no run.command`);
    const where = run.cwd ? ` in ${run.cwd}` : '';
    const failure = (why: string) =>
      new Error(
        `process scheduler: cannot start a replica of "${service}" (command ${JSON.stringify(command)}${where}): ${why}`,
      );

    const id = newId();
    const logPath = join(this.logsDir, `${service}-${id}.log`);
    let logFd: number;
    try {
      logFd = openSync(logPath, 'a');
    } catch (error) {
      throw failure(`cannot open log ${logPath}: ${errorMessage(error)}`);
    }
    let child: ChildProcess;
    try {
      child = spawn(file, command.slice(1), {
        cwd: run.cwd,
        env: {
          ...process.env,
          ...run.env,
          MICROSCALER_INSTANCE: this.ctx.instance,
          MICROSCALER_SERVICE: service,
          MICROSCALER_REPLICA: id,
        },
        detached: true, // its own session and process group, so a stop reaches its children too
        stdio: ['ignore', logFd, logFd],
      });
    } catch (error) {
      throw failure(errorMessage(error));
    } finally {
      closeSync(logFd); // the child holds its own copy
    }
    child.unref(); // microscaler may exit while replicas keep running

    // Everything below up to `await` runs in this turn, before 'spawn' or 'error' can fire.
    const pid = child.pid;
    const r = this.track({
      id,
      service,
      pid,
      // The exec has happened by now (or failed); an exited child stays a zombie until we reap it.
      startTime: pid === undefined ? undefined : readProcStat(pid)?.startTime,
      startedAt: Date.now(),
      state: 'starting',
      child,
    });
    if (pid !== undefined) {
      const startTime = r.startTime;
      r.saved =
        startTime === undefined
          ? Promise.resolve(new Error(`cannot read /proc/${pid}/stat`))
          : this.writeRecord({
              id,
              service,
              instance: this.ctx.instance,
              pid,
              startTime,
              command: [...command],
              startedAt: r.startedAt,
            });
    }

    let spawned = false;
    const started = new Promise<void>((res, rej) => {
      child.once('spawn', () => {
        spawned = true;
        if (r.state === 'starting') r.state = 'running';
        this.notify(service);
        res();
      });
      child.on('error', (error) => {
        if (spawned) {
          this.ctx.logger.log('warn', `replica ${id} of ${service}: ${error.message}`, { service, id, pid });
          return;
        }
        this.remove(r);
        void rm(logPath, { force: true }).catch(() => {}); // empty: the command never ran
        rej(failure(error.message));
      });
    });
    child.once('exit', (code, signal) => {
      this.logGone(r, { code, signal });
      this.remove(r);
    });

    await started;
    const saveError = await r.saved;
    if (saveError) {
      // Without a record a restart could not adopt it: better not to run it at all.
      this.stop(r);
      throw failure(`cannot write its record in ${this.recordsDir}: ${saveError.message}`);
    }
  }

  private track(
    fields: Pick<Replica, 'id' | 'service' | 'pid' | 'startTime' | 'startedAt' | 'state' | 'child'>,
  ): Replica {
    let markGone = () => {};
    const gone = new Promise<void>((res) => {
      markGone = res;
    });
    const r: Replica = { ...fields, seq: ++this.seq, saved: Promise.resolve(undefined), gone, markGone };
    this.replicas.set(r.id, r);
    return r;
  }

  private async writeRecord(record: ReplicaRecord): Promise<Error | undefined> {
    const path = join(this.recordsDir, `${record.id}.json`);
    const tmp = `${path}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(record)}\n`);
      await rename(tmp, path); // atomic: a reader sees the whole record or none
      return undefined;
    } catch (error) {
      await rm(tmp, { force: true }).catch(() => {});
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** SIGTERM to the group now, SIGKILL after the service's grace period. Does not wait. */
  private stop(r: Replica): void {
    if (r.state === 'stopping' || this.replicas.get(r.id) !== r) return;
    r.state = 'stopping';
    r.child?.ref(); // keep the event loop alive until its exit arrives (stopAll waits for it)
    this.signal(r, 'SIGTERM');
    const grace = this.runs.get(r.service)?.stopGraceMs ?? DEFAULT_GRACE_MS;
    r.killTimer = setTimeout(() => {
      if (this.replicas.get(r.id) !== r) return;
      this.ctx.logger.log('warn', `replica ${r.id} of ${r.service} outlived its ${grace}ms grace: SIGKILL`, {
        service: r.service,
        id: r.id,
        pid: r.pid,
      });
      this.signal(r, 'SIGKILL');
    }, grace);
    if (!r.child) this.startPolling();
  }

  /** Signals the replica's process group. Only ever called for a pid we spawned or verified. */
  private signal(r: Replica, signal: NodeJS.Signals): void {
    const pid = r.pid;
    if (pid === undefined || pid <= 1 || this.replicas.get(r.id) !== r) return;
    // An adopted pid is checked again right before each signal: it may have exited and been reused since.
    if (!r.child && !isAlive(pid, r.startTime)) return;
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if (errorCode(error) !== 'ESRCH') {
        this.ctx.logger.log('warn', `cannot signal replica ${r.id}: ${errorMessage(error)}`, { pid, signal });
        return;
      }
      // No such group: the replica moved itself to another one; signal it alone.
      try {
        process.kill(pid, signal);
      } catch (inner) {
        if (errorCode(inner) !== 'ESRCH') {
          this.ctx.logger.log('warn', `cannot signal replica ${r.id}: ${errorMessage(inner)}`, {
            pid,
            signal,
          });
        }
      }
    }
  }

  /** Forgets a replica that is gone, deletes its record, and tells the subscribers. */
  private remove(r: Replica): void {
    if (this.replicas.get(r.id) !== r) return;
    this.replicas.delete(r.id);
    clearTimeout(r.killTimer);
    r.child?.unref();
    r.markGone();
    const path = join(this.recordsDir, `${r.id}.json`);
    // After the write settles, or a late write would resurrect the record.
    r.saved = r.saved.then(async (writeError) => {
      if (writeError) return writeError;
      try {
        await rm(path, { force: true });
      } catch (error) {
        this.ctx.logger.log('warn', `cannot remove replica record ${path}: ${errorMessage(error)}`);
      }
      return undefined;
    });
    this.notify(r.service);
  }

  private logGone(r: Replica, fields: Record<string, unknown> = {}): void {
    const expected = r.state === 'stopping';
    this.ctx.logger.log(
      expected ? 'info' : 'warn',
      `replica ${r.id} of ${r.service} ${expected ? 'stopped' : 'exited'}`,
      {
        service: r.service,
        pid: r.pid,
        ...fields,
      },
    );
  }

  private notify(service: string): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber(service);
      } catch (error) {
        this.ctx.logger.log('error', `watch subscriber failed: ${errorMessage(error)}`, { service });
      }
    }
  }

  /** Adopted replicas are not our children (no 'exit' event): look them up in /proc. */
  private pollAdopted(): void {
    let stopping = false;
    for (const r of [...this.replicas.values()]) {
      if (r.child || r.pid === undefined) continue;
      if (!isAlive(r.pid, r.startTime)) {
        this.logGone(r);
        this.remove(r);
      } else if (r.state === 'stopping') {
        stopping = true;
      }
    }
    if (!stopping && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private startPolling(): void {
    this.pollTimer ??= setInterval(() => this.pollAdopted(), POLL_MS);
  }

  private async adopt(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.recordsDir);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.ctx.logger.log(
          'warn',
          `cannot read replica records in ${this.recordsDir}: ${errorMessage(error)}`,
        );
      }
      return;
    }
    const adopted: ReplicaRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const path = join(this.recordsDir, name);
      let record: ReplicaRecord;
      try {
        record = recordSchema.parse(JSON.parse(await readFile(path, 'utf8')));
        if (`${record.id}.json` !== name) throw new Error(`id "${record.id}" does not match the file name`);
      } catch (error) {
        this.ctx.logger.log('warn', `skipping unreadable replica record ${path}`, {
          error: errorMessage(error),
        });
        continue;
      }
      if (record.instance !== this.ctx.instance) {
        this.ctx.logger.log(
          'warn',
          `skipping replica record ${path} of another instance "${record.instance}"`,
        );
        continue;
      }
      if (!this.verify(record)) {
        // Exited, or its pid now belongs to an unrelated process: never signal it, just forget it.
        this.ctx.logger.log('info', `removing stale replica record ${path}`, { pid: record.pid });
        await rm(path, { force: true }).catch((error: unknown) => {
          this.ctx.logger.log('warn', `cannot remove stale replica record ${path}: ${errorMessage(error)}`);
        });
        continue;
      }
      if (!this.runs.has(record.service)) {
        // Perhaps renamed in the config: stopping it could lose work, so it is left alone and not owned.
        this.ctx.logger.log(
          'warn',
          `replica ${record.id} of service "${record.service}", which is not in the config, is left running; stop it with kill -TERM -${record.pid}`,
          { service: record.service, pid: record.pid, record: path },
        );
        continue;
      }
      adopted.push(record);
    }
    adopted.sort((a, b) => a.startedAt - b.startedAt);
    for (const { id, service, pid, startTime, startedAt } of adopted) {
      this.track({ id, service, pid, startTime, startedAt, state: 'running', child: undefined });
    }
    if (adopted.length > 0) {
      this.ctx.logger.log('info', `adopted ${adopted.length} running replica(s) from ${this.recordsDir}`);
    }
  }

  /** Same process as recorded (pid and start time), alive, and carrying our labels in its environment. */
  private verify(record: ReplicaRecord): boolean {
    if (!isAlive(record.pid, record.startTime)) return false;
    const env = readEnviron(record.pid);
    const labels = [
      `MICROSCALER_INSTANCE=${this.ctx.instance}`,
      `MICROSCALER_SERVICE=${record.service}`,
      `MICROSCALER_REPLICA=${record.id}`,
    ];
    return env !== undefined && labels.every((label) => env.has(label));
  }
}
