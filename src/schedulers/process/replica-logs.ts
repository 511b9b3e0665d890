// The process back-end's replica logs, `<stateDir>/logs/<service>-<id>.log`: capped per replica, rotated,
// removed some time after their replica stopped, and emptied first when the disk is nearly full.
//
// A replica writes its stdout and stderr straight to its log file (opened O_APPEND), not through a pipe to
// microscaler: replicas outlive `run` and are adopted by the next one, and a pipe would die with the
// microscaler that read it (the replica would then get SIGPIPE or block). So the cap is kept from outside,
// as logrotate's `copytruncate` does: every CAP_MS, a log over `maxSize` has its last `maxSize` bytes copied
// to `.1` (older ones shift to `.2`, ... up to `keep`), and is truncated to 0; the replica's next write lands
// at the new end, since its descriptor appends. Costs and limits, documented in docs/config.md:
// - between two checks a log may pass maxSize by what its replica writes in CAP_MS;
// - lines written between the copy and the truncate are lost;
// - while no microscaler runs nothing is capped; the next one caps adopted replicas' logs at once.
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat, statfs, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/ports.js';

/** What `run.logs` says (src/config/schema.ts), with its defaults. */
export interface LogSettings {
  /** Largest size of one log file, in bytes. */
  readonly maxSize: number;
  /** Rotated files kept per replica (`.1` newest); 0 truncates without keeping a copy. */
  readonly keep: number;
  /** How long the logs of a stopped replica are kept, in ms. */
  readonly retentionMs: number;
  /** At most this many stopped replicas' logs are kept per service (the newest). */
  readonly keepStopped: number;
}

export const DEFAULT_LOG_SETTINGS: LogSettings = {
  maxSize: 10 * 2 ** 20,
  keep: 2,
  retentionMs: 10 * 60_000,
  keepStopped: 10,
};

/** How often live logs are measured (and the disk's free space). */
const CAP_MS = 250;
/** How often the folder is swept for stopped replicas' logs past their retention (and after a stop). */
const SWEEP_MS = 5000;
/** A sweep this long after a replica is gone, so the count of stopped replicas' logs holds soon. */
const SWEEP_AFTER_GONE_MS = 200;
/** Nearly full: less free than this share of the file system (and less than LOW_SPACE_BYTES). */
const LOW_SPACE_SHARE = 0.05;
const LOW_SPACE_BYTES = 2 ** 30;

/**
 * `<service>-<id>.log`, `<service>-<id>.log.<n>`, or the copy being made, `<service>-<id>.log.tmp`; ids are
 * `<base36 time>-<8 hex>` (process.ts newId).
 */
const LOG_FILE = /^([a-z0-9][a-z0-9-]*)-([a-z0-9]+-[0-9a-f]{8})\.log(?:\.([1-9][0-9]*|tmp))?$/;

export interface ReplicaLogsOptions {
  readonly dir: string;
  /** Replica records (`<id>.json`): a log whose replica has one is live, whoever started it. */
  readonly recordsDir: string;
  readonly logger: Logger;
  /** The settings of a service (the defaults for one that is not configured). */
  readonly settings: (service: string) => LogSettings;
  /** The replicas this instance owns now: their logs are capped every CAP_MS. */
  readonly live: () => Iterable<{ readonly id: string; readonly service: string }>;
}

interface LogFile {
  readonly name: string;
  readonly service: string;
  readonly id: string;
  /** 0 for the live file, n for `.n`, -1 for a copy being made. */
  readonly generation: number;
}

export class ReplicaLogs {
  private readonly options: ReplicaLogsOptions;
  private capTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  /** The passes under way; close() waits for them. */
  private readonly busy: { cap?: Promise<void> | undefined; sweep?: Promise<void> | undefined } = {};
  private sweepAgain = false;
  private lowSpace = false;
  private readonly warned = new Set<string>();

  constructor(options: ReplicaLogsOptions) {
    this.options = options;
  }

  /** Where a replica's stdout and stderr go. */
  path(service: string, id: string): string {
    return join(this.options.dir, `${service}-${id}.log`);
  }

  /** Starts the checks (timers that never keep the process alive), with a sweep at once. */
  start(): void {
    if (this.capTimer) return;
    this.capTimer = setInterval(() => this.run('cap'), CAP_MS).unref();
    this.sweepTimer = setInterval(() => this.run('sweep'), SWEEP_MS).unref();
    this.run('sweep');
  }

  /** A replica is gone: its logs now count among the stopped ones, swept soon. */
  gone(): void {
    if (!this.capTimer || this.soonTimer) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      this.run('sweep');
    }, SWEEP_AFTER_GONE_MS).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.capTimer);
    clearInterval(this.sweepTimer);
    clearTimeout(this.soonTimer);
    this.capTimer = undefined;
    await Promise.all([this.busy.cap, this.busy.sweep]);
  }

  /**
   * One cap pass and one sweep at a time; a sweep asked for while one runs runs again after it (it may have
   * read the records before the replica that asked went).
   */
  private run(kind: 'cap' | 'sweep'): void {
    if (this.busy[kind]) {
      if (kind === 'sweep') this.sweepAgain = true;
      return;
    }
    const pass = kind === 'cap' ? this.cap() : this.sweep();
    this.busy[kind] = pass
      .catch((error: unknown) => {
        this.warnOnce(kind, `replica logs in ${this.options.dir}: ${errorMessage(error)}`);
      })
      .finally(() => {
        this.busy[kind] = undefined;
        if (kind === 'sweep' && this.sweepAgain && this.capTimer) {
          this.sweepAgain = false;
          this.run('sweep');
        }
      });
  }

  /** Caps the live logs of the replicas this instance owns; empties every log when the disk is nearly full. */
  async cap(): Promise<void> {
    if (await this.diskNearlyFull()) {
      await this.makeRoom();
      return;
    }
    for (const { id, service } of [...this.options.live()]) {
      await this.capFile(service, id, this.options.settings(service));
    }
  }

  /**
   * Removes the logs of stopped replicas (no record, not owned) past their service's retention, and beyond
   * its `keepStopped` newest; caps the live logs of replicas this instance does not own (another instance's,
   * or one of a service no longer configured): a cap touches the file only, never the process.
   */
  async sweep(): Promise<void> {
    const files = await this.list();
    if (files.length === 0) return;
    const live = await this.liveIds();
    const stopped = new Map<string, Map<string, { files: LogFile[]; at: number }>>();
    for (const file of files) {
      if (live.has(file.id)) {
        if (file.generation === 0 && !this.owned(file.id)) {
          await this.capFile(file.service, file.id, this.options.settings(file.service));
        }
        continue;
      }
      const at = await mtime(join(this.options.dir, file.name));
      if (at === undefined) continue;
      const ofService = stopped.get(file.service) ?? new Map<string, { files: LogFile[]; at: number }>();
      stopped.set(file.service, ofService);
      const entry = ofService.get(file.id) ?? { files: [], at: 0 };
      entry.files.push(file);
      entry.at = Math.max(entry.at, at);
      ofService.set(file.id, entry);
    }
    const now = Date.now(); // against file times, which are the system's
    for (const [service, replicas] of stopped) {
      const { retentionMs, keepStopped } = this.options.settings(service);
      const newestFirst = [...replicas.values()].sort((a, b) => b.at - a.at);
      for (const [index, replica] of newestFirst.entries()) {
        if (index < keepStopped && now - replica.at <= retentionMs) continue;
        for (const file of replica.files) await this.remove(file.name);
      }
    }
  }

  private owned(id: string): boolean {
    for (const r of this.options.live()) if (r.id === id) return true;
    return false;
  }

  /** Ids of replicas that have a record (read after the logs: a record is written before its log). */
  private async liveIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const r of this.options.live()) ids.add(r.id);
    try {
      for (const name of await readdir(this.options.recordsDir)) {
        if (name.endsWith('.json')) ids.add(name.slice(0, -5));
      }
    } catch (error) {
      // Without the records nothing can be told stopped: remove nothing this time.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return ids;
  }

  private async list(): Promise<LogFile[]> {
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.flatMap((name) => {
      const m = LOG_FILE.exec(name);
      if (!m) return []; // not a replica log: not ours to touch
      return [
        {
          name,
          service: m[1] as string,
          id: m[2] as string,
          generation: m[3] === 'tmp' ? -1 : Number(m[3] ?? 0),
        },
      ];
    });
  }

  /** Rotates one live log if it is over its cap: its tail to `.1` (older ones shift), then truncated. */
  private async capFile(service: string, id: string, settings: LogSettings): Promise<void> {
    const path = this.path(service, id);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return; // not opened yet, or gone
    }
    if (size <= settings.maxSize) return;
    if (settings.keep > 0) {
      // The newest maxSize bytes (a rotated file is never bigger than the cap either), copied aside first
      // and renamed into place, so that `.1` is never seen half-written.
      const copy = `${path}.tmp`;
      try {
        await pipeline(
          createReadStream(path, { start: size - settings.maxSize, end: size - 1 }),
          createWriteStream(copy),
        );
        await rm(`${path}.${settings.keep}`, { force: true });
        for (let n = settings.keep - 1; n >= 1; n--) {
          await rename(`${path}.${n}`, `${path}.${n + 1}`).catch(ignoreMissing);
        }
        await rename(copy, `${path}.1`);
      } catch (error) {
        // A full disk, say: the copy goes, and the cap still holds (the truncate below).
        await rm(copy, { force: true });
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.warnOnce(`copy:${path}`, `cannot keep a rotated copy of ${path}: ${errorMessage(error)}`);
        }
      }
    }
    await truncate(path, 0).catch(ignoreMissing);
  }

  /** Free space below LOW_SPACE_SHARE of the file system and below LOW_SPACE_BYTES; warns once per episode. */
  private async diskNearlyFull(): Promise<boolean> {
    let low: boolean;
    try {
      const fs = await statfs(this.options.dir);
      const free = fs.bavail * fs.bsize;
      low = free < Math.min(fs.blocks * fs.bsize * LOW_SPACE_SHARE, LOW_SPACE_BYTES);
    } catch {
      return false; // no folder yet: nothing written
    }
    if (low && !this.lowSpace) {
      this.options.logger.log(
        'warn',
        `the disk of ${this.options.dir} is nearly full: replica logs are emptied (stopped replicas' logs and rotated files removed, live logs truncated) until there is room again`,
      );
    } else if (!low && this.lowSpace) {
      this.options.logger.log(
        'info',
        `the disk of ${this.options.dir} has room again: replica logs kept as configured`,
      );
    }
    this.lowSpace = low;
    return low;
  }

  /** Logs give way to the state records: every rotated or stopped log goes, every live one is emptied. */
  private async makeRoom(): Promise<void> {
    const files = await this.list();
    const live = await this.liveIds();
    for (const file of files) {
      const path = join(this.options.dir, file.name);
      if (file.generation === 0 && live.has(file.id)) await truncate(path, 0).catch(ignoreMissing);
      else await this.remove(file.name);
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      await rm(join(this.options.dir, name), { force: true });
    } catch (error) {
      this.warnOnce(
        name,
        `cannot remove replica log ${join(this.options.dir, name)}: ${errorMessage(error)}`,
      );
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.logger.log('warn', message);
  }
}

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
