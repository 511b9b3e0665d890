// Adoption's judgement of one record file against /proc: a verified live replica to adopt, or nothing
// (stale records removed, corrupt ones moved aside, pending ones completed or left for their writer).
// The scheduler's scan (scheduler.ts) lists the folder and tracks what this returns.
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { RunSpec } from '../../core/types.js';
import { type FoundProcess, groupLingers, groupMembers, isAlive, readEnviron } from './proc.js';
import { errorCode, NAME, type ReplicaRecord, recordSchema, wallTime } from './records.js';

/**
 * A pending record whose process cannot be found is removed once it is this old: its writer died before
 * the spawn (or the spawn failed). Younger ones may belong to another instance that is spawning right now.
 */
const PENDING_STALE_MS = 10_000;
/**
 * ...or sooner, once its writer (a microscaler process, recorded in it) is gone and this much time has
 * passed: a spawn the writer began before dying has exec'd long before (uv_spawn takes milliseconds).
 */
const PENDING_ORPHAN_MS = 1000;

/** What examining a record needs of the scheduler: its folder, config and bookkeeping. */
export interface RecordHost {
  readonly recordsDir: string;
  readonly ctx: SchedulerContext;
  readonly runs: ReadonlyMap<string, RunSpec>;
  /** Record files not to look at again (unreadable, corrupt, of another instance). */
  readonly skipped: Set<string>;
  /** Whether the scheduler already tracks this replica id. */
  knows(id: string): boolean;
  warnOnce(key: string, message: string): void;
  writeRecord(record: ReplicaRecord): Promise<Error | undefined>;
}

/** A record examined at adoption: a verified live replica, and what its record said. */
export interface Examined {
  readonly id: string;
  readonly service: string;
  readonly pid: number;
  readonly startTime: number;
  readonly startedAt: number;
  readonly command: readonly string[];
  /** The record says frozen (on adoption /proc decides; the record is then brought in line). */
  readonly recordFrozen: boolean;
  /** Its leader is gone but processes of its group live on: adopted only to be stopped. */
  readonly leaderGone?: boolean;
}

/**
 * Decides about one record file: a verified live replica to adopt, or nothing (stale records are removed,
 * corrupt ones set aside; neither is ever trusted nor its pid signalled).
 */
export async function examineRecord(
  host: RecordHost,
  name: string,
  findById: (id: string) => FoundProcess | undefined,
): Promise<Examined | undefined> {
  const path = join(host.recordsDir, name);
  const id = name.slice(0, -5);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      host.skipped.add(name);
      host.warnOnce(path, `skipping unreadable replica record ${path}: ${errorMessage(error)}`);
    }
    return undefined; // ENOENT: removed since the readdir (its replica is gone)
  }
  if (host.knows(id)) return undefined; // our own, started meanwhile

  let record: ReplicaRecord | undefined;
  let why = '';
  try {
    record = recordSchema.parse(JSON.parse(text));
    if (record.id !== id) throw new Error(`id "${record.id}" does not match the file name`);
  } catch (error) {
    record = undefined;
    why = errorMessage(error);
  }

  if (!record) {
    // Half-written (a crash of the machine, a full disk) or edited by hand: its content is not trusted.
    // The process it stood for, if any, is still found by the replica id in its environment.
    const live = NAME.test(id) ? findById(id) : undefined;
    if (live && host.runs.has(live.service)) {
      host.ctx.logger.log(
        'warn',
        `replica record ${path} is corrupt; its replica runs (pid ${live.pid}), adopted`,
        {
          error: why,
        },
      );
      const startedAt = wallTime(host.ctx.clock);
      await rewrite(host, id, live, [], startedAt);
      return { id, ...live, startedAt, command: [], recordFrozen: false };
    }
    host.skipped.add(name);
    const aside = `${path}.corrupt`;
    host.ctx.logger.log(
      'warn',
      `replica record ${path} is corrupt and no replica runs under its id: moved to ${aside}`,
      {
        error: why,
      },
    );
    await rename(path, aside).catch(() => {});
    return undefined;
  }

  if (record.instance !== host.ctx.instance) {
    host.skipped.add(name);
    host.warnOnce(path, `skipping replica record ${path} of another instance "${record.instance}"`);
    return undefined;
  }

  let live: FoundProcess | undefined;
  let leaderGone = false;
  if (record.pid === undefined || record.startTime === undefined) {
    // Pending: written before a spawn whose writer may have died before completing it.
    live = findById(id);
    if (live && live.service !== record.service) live = undefined;
    if (!live) {
      const age = wallTime(host.ctx.clock) - record.startedAt;
      const writer = record.writer;
      const orphan = writer !== undefined && !isAlive(writer.pid, writer.startTime);
      if (age > PENDING_STALE_MS || (orphan && age > PENDING_ORPHAN_MS)) {
        await removeStale(host, path, undefined);
      }
      return undefined; // perhaps being spawned by another instance right now: look again next time
    }
    if (host.runs.has(record.service)) await rewrite(host, id, live, record.command, record.startedAt);
  } else if (verify(host.ctx.instance, record)) {
    live = { pid: record.pid, startTime: record.startTime, service: record.service };
  } else if (leftOver(host.ctx.instance, record)) {
    // Its leader exited while no microscaler watched; what it started in the background still runs.
    live = { pid: record.pid, startTime: record.startTime, service: record.service };
    leaderGone = true;
  } else {
    // Exited, or its pid now belongs to an unrelated process: never signal it, just forget it.
    await removeStale(host, path, record.pid);
    return undefined;
  }

  if (!host.runs.has(record.service)) {
    // Ours, of a service the config no longer has: adopted, so that it counts against capacity; the
    // controller stops it, or keeps it running with `run --keep-removed`.
    host.ctx.logger.log(
      'info',
      `replica ${id} of service "${record.service}", which is not in the config, adopted (pid ${live.pid})`,
      { service: record.service, pid: live.pid, record: path },
    );
  }
  return {
    id,
    ...live,
    startedAt: record.startedAt,
    command: record.command,
    // A pending record was just rewritten (without the flag): what is on disk now.
    recordFrozen: record.pid === undefined || record.startTime === undefined ? false : record.frozen === true,
    ...(leaderGone ? { leaderGone } : {}),
  };
}

/**
 * A record whose leader is gone while processes of its group live on, one of them carrying the
 * replica's labels (so the group is this replica's, not a later one under a reused id).
 */
function leftOver(instance: string, record: ReplicaRecord): boolean {
  if (record.pid === undefined || !groupLingers(record.pid, record.startTime)) return false;
  const labels = [`MICROSCALER_INSTANCE=${instance}`, `MICROSCALER_REPLICA=${record.id}`];
  return groupMembers(record.pid).some((pid) => {
    const env = readEnviron(pid);
    return env !== undefined && labels.every((label) => env.has(label));
  });
}

/** Completes the record of a replica found through its environment (best effort: it is adopted anyway). */
async function rewrite(
  host: RecordHost,
  id: string,
  live: FoundProcess,
  command: string[],
  startedAt: number,
) {
  const error = await host.writeRecord({
    id,
    service: live.service,
    instance: host.ctx.instance,
    pid: live.pid,
    startTime: live.startTime,
    command,
    startedAt,
  });
  if (error) host.ctx.logger.log('warn', `cannot complete replica record ${id}: ${error.message}`);
}

async function removeStale(host: RecordHost, path: string, pid: number | undefined): Promise<void> {
  host.ctx.logger.log('info', `removing stale replica record ${path}`, { pid });
  try {
    await rm(path, { force: true });
  } catch (error) {
    host.skipped.add(path.slice(host.recordsDir.length + 1));
    host.ctx.logger.log('warn', `cannot remove stale replica record ${path}: ${errorMessage(error)}`);
  }
}

/** Same process as recorded (pid and start time), alive, and carrying our labels in its environment. */
function verify(instance: string, record: ReplicaRecord): boolean {
  if (record.pid === undefined || !isAlive(record.pid, record.startTime)) return false;
  const env = readEnviron(record.pid);
  const labels = [
    `MICROSCALER_INSTANCE=${instance}`,
    `MICROSCALER_SERVICE=${record.service}`,
    `MICROSCALER_REPLICA=${record.id}`,
  ];
  return env !== undefined && labels.every((label) => env.has(label));
}
