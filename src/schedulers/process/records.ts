// The state folder's replica records: their schema, the default folder, and the atomic write of one record.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';

/** Service names and replica ids: the only strings that ever become part of a path. */
export const NAME = /^[a-z0-9][a-z0-9-]*$/;
/** Instance names become a directory name in the default state directory. */
const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const recordSchema = z.object({
  id: z.string().regex(NAME),
  service: z.string().regex(NAME),
  instance: z.string(),
  /** Absent in a pending record: written before the spawn, completed once the process runs. */
  pid: z.number().int().gt(1).optional(),
  startTime: z.number().int().nonnegative().optional(),
  command: z.array(z.string()),
  startedAt: z.number(),
  /** The microscaler process that wrote it (pid and start time), so a reader knows whether it still lives. */
  writer: z.object({ pid: z.number().int(), startTime: z.number().int() }).optional(),
  /** Set while the replica is frozen (SIGSTOP). Informative: on adoption /proc decides. */
  frozen: z.boolean().optional(),
});
/** What `<stateDir>/replicas/<id>.json` holds. */
export type ReplicaRecord = z.infer<typeof recordSchema>;

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

/** Wall-clock ms for what records keep (startedAt, which other instances read): the clock's wall time. */
export function wallTime(clock: Clock): number {
  return clock.wall?.() ?? clock.now();
}

/** The record write as a promise (never rejects: it resolves to its error), what a replica's `saved` holds. */
export async function saveRecord(recordsDir: string, record: ReplicaRecord): Promise<Error | undefined> {
  return writeRecord(recordsDir, record);
}

/** Writes `<recordsDir>/<id>.json` atomically; returns the error instead of throwing. */
export function writeRecord(recordsDir: string, record: ReplicaRecord): Error | undefined {
  const path = join(recordsDir, `${record.id}.json`);
  // A name of its own: two instances sharing the folder may write the same record at once.
  const tmp = `${path}.${randomBytes(3).toString('hex')}.tmp`;
  // Synchronous: a record is a few hundred bytes, and a burst of starts through the thread pool costs more
  // (memory, mostly) than these microseconds of blocking.
  try {
    writeFileSync(tmp, `${JSON.stringify(record)}\n`);
    renameSync(tmp, path); // atomic: a reader sees the whole record or none
    return undefined;
  } catch (error) {
    rmSync(tmp, { force: true });
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Temporary files of a record write that died half-way are removed at start-up once this old. */
const TMP_STALE_MS = 60_000;

/** Removes the temporary files of record writes that died half-way (at start-up). */
export async function removeStaleTmp(recordsDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(recordsDir);
  } catch {
    return;
  }
  const now = Date.now(); // against file times, which are the system's
  for (const name of names.filter((n) => n.endsWith('.tmp'))) {
    const path = join(recordsDir, name);
    try {
      if (now - (await stat(path)).mtimeMs > TMP_STALE_MS) await rm(path, { force: true });
    } catch {
      // gone meanwhile, or not ours to remove: harmless either way
    }
  }
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
