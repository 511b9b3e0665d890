// Adoption: reading the records folder for replicas this instance does not know yet, at start-up (those a
// previous run left) and on every observe (those another instance sharing the folder wrote, so a follower
// that takes over knows every replica the old leader started). Each record is judged against /proc
// (adoption.ts): it is adopted only if its pid is alive with the recorded start time and the replica's
// MICROSCALER_INSTANCE/SERVICE/REPLICA environment; otherwise it is deleted and the process never
// signalled. /proc, not the record, says whether an adopted replica is frozen: stopped ('T' in
// /proc/<pid>/stat, or 'D' for a shell stopped while it waited on a vfork child, see isGroupStopped) is
// frozen, anything else runs; adoption never signals, so it never thaws a frozen replica.
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { errorMessage } from '../../core/errors.js';
import { examineRecord, type RecordHost } from './adoption.js';
import type { Freezer } from './freeze.js';
import { type FoundProcess, isGroupStopped, replicasInProc } from './proc.js';
import { errorCode, saveRecord } from './records.js';
import type { ProcessCore, Replica } from './replica.js';
import type { Stopper } from './stop.js';

/** Adopts the records of a ProcessCore's folder into its table. */
export class Scanner {
  private readonly core: ProcessCore;
  private readonly stopper: Stopper;
  private readonly freezer: Freezer;
  /** Record files that a scan looked at and will not look at again (foreign, unowned, unreadable). */
  private readonly skipped = new Set<string>();
  private readonly warned = new Set<string>();
  private scanning: Promise<void> | undefined;
  /** What adoption's examination of a record (adoption.ts) sees of this scheduler. */
  private readonly records: RecordHost;

  constructor(core: ProcessCore, stopper: Stopper, freezer: Freezer) {
    this.core = core;
    this.stopper = stopper;
    this.freezer = freezer;
    this.records = {
      recordsDir: core.recordsDir,
      ctx: core.ctx,
      runs: core.runs,
      skipped: this.skipped,
      knows: (id) => core.table.has(id),
      warnOnce: (key, message) => this.warnOnce(key, message),
      writeRecord: (record) => saveRecord(core.recordsDir, record),
    };
  }

  private warnOnce(key: string, message: string, fields?: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.core.ctx.logger.log('warn', message, fields);
  }

  /** Removes temporary files of record writes that died half-way (a crash between write and rename). */
  /**
   * One scan at a time; callers that come while one runs wait for it. Every tick calls this: when the
   * folder has not changed (its mtime and ctime) since a scan that left nothing unknown, there is nothing
   * to read, and observe() answers without waiting for the disk.
   */
  scan(): Promise<void> {
    if (this.scanning) return this.scanning;
    let mark: string | undefined;
    try {
      const st = statSync(this.core.recordsDir);
      mark = `${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      mark = undefined; // missing or unreadable: scanRecords says so
    }
    if (mark !== undefined && mark === this.scannedMark) return Promise.resolve();
    this.scanning = this.scanRecords()
      .then((settled) => {
        // Taken before the readdir: a record written since changes the mark, so it is read next time.
        this.scannedMark = settled ? mark : undefined;
      })
      .finally(() => {
        this.scanning = undefined;
      });
    return this.scanning;
  }

  /** The records folder's mtime and ctime at the last scan that left nothing unknown. */
  private scannedMark: string | undefined;

  /**
   * Adopts the records in the state directory that this instance does not know yet: at start-up, those a
   * previous run left; later, those another instance sharing the folder wrote. Costs one readdir when
   * nothing is new.
   */
  private async scanRecords(): Promise<boolean> {
    let names: string[];
    try {
      names = await readdir(this.core.recordsDir);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.warnOnce(
          'readdir',
          `cannot read replica records in ${this.core.recordsDir}: ${errorMessage(error)}`,
        );
      }
      return false;
    }
    const fresh = names
      .filter((n) => n.endsWith('.json') && !this.skipped.has(n) && !this.core.table.has(n.slice(0, -5)))
      .sort();
    if (fresh.length === 0) return true;
    let inProc: Map<string, FoundProcess> | undefined;
    const findById = (id: string) => {
      inProc ??= replicasInProc(this.core.ctx.instance);
      return inProc.get(id);
    };
    const adopted: Replica[] = [];
    for (const name of fresh) {
      const found = await examineRecord(this.records, name, findById);
      if (found && !this.core.modes.closed && !this.core.table.has(found.id)) {
        // /proc decides, not the record: stopped ('T') is frozen, anything else runs. Never signalled here,
        // so a frozen replica is never thawed by its adoption.
        const stopped = isGroupStopped(found.pid);
        const r = this.core.table.track({
          id: found.id,
          service: found.service,
          pid: found.pid,
          startTime: found.startTime,
          startedAt: found.startedAt,
          state: stopped ? 'frozen' : 'running',
          child: undefined,
          adopted: true,
          command: found.command,
          frozen: stopped,
        });
        adopted.push(r);
        if (found.leaderGone) {
          // Stopped like any replica; continued too, in case the group was frozen when its leader went.
          r.leaderGone = true;
          this.core.ctx.logger.log(
            'warn',
            `replica ${r.id} of ${r.service} exited while no microscaler ran; stopping what is left of its process group`,
            { service: r.service, pgid: r.pid },
          );
          this.stopper.stop(r);
          this.stopper.signal(r, 'SIGCONT');
          continue;
        }
        // A crash between a record write and its signal: the record is brought in line with /proc.
        if (found.recordFrozen !== stopped) void this.freezer.persist(r, stopped);
      }
    }
    if (adopted.length > 0) {
      const frozen = adopted.filter((r) => r.frozen).length;
      this.core.ctx.logger.log(
        'info',
        `adopted ${adopted.length - frozen} running and ${frozen} frozen replica(s) from ${this.core.recordsDir}`,
      );
      for (const service of new Set(adopted.map((r) => r.service))) this.core.table.notify(service);
    }
    // Records still unknown (pending ones of a live writer, say) are looked at again on the next scan.
    return false;
  }
}
