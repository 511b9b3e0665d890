// Freezing a process replica: SIGSTOP to its process group (a frozen replica keeps its memory and gets no
// CPU), SIGCONT to thaw it, the freeze notice before (freeze-notify.ts), the record rewritten with
// `frozen`, and /proc's last word on what is frozen. A removed frozen replica gets SIGKILL without a thaw
// (stop.ts). The record says `frozen: true`, written before the SIGSTOP and rewritten after the SIGCONT; on
// adoption /proc decides (scan.ts), so a crash between the record and the signal can neither lose a frozen
// replica nor thaw one.
import type { NoticeTarget } from '../freeze-notify.js';
import { isAlive, isGroupStopped, readProcStat, waitStopped } from './proc.js';
import { saveRecord } from './records.js';
import { isWarming, type ProcessCore, type Replica } from './replica.js';
import type { Stopper } from './stop.js';

/** How often observe() reads /proc for replicas frozen or continued by someone else (scale() always does). */
const FROZEN_SYNC_MS = 5000;
/** How long a freeze waits for the replica to show as stopped in /proc (it is usually a few ms). */
const FREEZE_WAIT_MS = 1000;

/** Freezes and thaws the replicas of a ProcessCore's table. */
export class Freezer {
  private readonly core: ProcessCore;
  private readonly stopper: Stopper;
  /** When observe last read every replica's state in /proc (the clock's now()). */
  private frozenSyncedAt = Number.NEGATIVE_INFINITY;

  constructor(core: ProcessCore, stopper: Stopper) {
    this.core = core;
    this.stopper = stopper;
  }

  /**
   * Freezes a replica: it leaves the active count at once (as `warming` until stopped), its record says
   * frozen, then SIGSTOP to its group, then a wait (bounded) until /proc shows it stopped. A replica not
   * spawned yet is frozen by its start() once it runs. Never rejects. With a freeze notice, the replica is
   * told first and frozen after its grace, in the background (`fresh`: it has only just started).
   */
  freeze(r: Replica, fresh = false): Promise<void> {
    if (!this.core.table.holds(r) || r.state === 'stopping' || r.state === 'frozen') {
      return Promise.resolve();
    }
    r.state = 'warming';
    if (r.pid === undefined) return Promise.resolve(); // start() freezes it once spawned
    r.freezing ??= this.doFreeze(r, fresh).finally(() => {
      r.freezing = undefined;
    });
    // Not awaited with a notice: the grace must not hold the scale call, or no scale-up could call it off.
    return this.core.runs.get(r.service)?.freezeNotice ? Promise.resolve() : r.freezing;
  }

  private async doFreeze(r: Replica, fresh: boolean): Promise<void> {
    const notice = this.core.runs.get(r.service)?.freezeNotice;
    // Until the grace is over the replica counts as warming: a replica slot, cpu and memory, as it runs.
    if (notice && !(await this.core.notices.before(notice, this.noticeTarget(r), fresh))) return;
    if (!this.core.table.holds(r) || !isWarming(r)) return;
    // The record first: a crash right after it leaves a running replica that says frozen, and adoption
    // trusts /proc (running); the other order could leave a stopped one that says running (also fine).
    const error = await this.persist(r, true);
    if (error) {
      this.core.ctx.logger.log('warn', `cannot record replica ${r.id} as frozen: ${error.message}`, {
        service: r.service,
      });
    }
    if (!this.core.table.holds(r) || !isWarming(r) || r.pid === undefined) return;
    r.frozen = true; // from here on a removal is a SIGKILL without a thaw
    this.stopper.signal(r, 'SIGSTOP');
    const stopped = await waitStopped(r.pid, r.startTime, FREEZE_WAIT_MS, this.core.ctx.clock);
    if (!this.core.table.holds(r) || !isWarming(r)) return;
    if (!stopped && !isAlive(r.pid, r.startTime)) return; // died meanwhile: its exit (or the poll) removes it
    r.state = 'frozen';
    this.core.table.notify(r.service);
  }

  /** Thaws a frozen replica: SIGCONT to its group, then its record (in the background). */
  thaw(r: Replica): void {
    if (!this.core.table.holds(r) || r.state !== 'frozen') return;
    this.stopper.signal(r, 'SIGCONT');
    r.frozen = false;
    r.state = 'running';
    this.core.table.notify(r.service);
    const notice = this.core.runs.get(r.service)?.freezeNotice;
    if (notice) void this.core.notices.resume(notice, this.noticeTarget(r), false); // the SIGCONT was the signal

    // After the signal: a crash in between leaves a running replica that says frozen; /proc wins.
    void this.persist(r, false).then((error) => {
      if (error)
        this.core.ctx.logger.log('warn', `cannot record replica ${r.id} as thawed: ${error.message}`);
    });
  }

  /** Whether `r`'s freeze is still in its notice's grace, so that takeBack() would call it off. */
  noticed(r: Replica): boolean {
    const notice = this.core.runs.get(r.service)?.freezeNotice;
    return Boolean(notice) && r.state === 'warming' && !r.frozen && this.core.notices.inGrace(r.id);
  }

  /**
   * Calls off up to `count` freezes still in their grace (removing those replicas from `warming`): they run
   * on, told so. Returns the resumes, one per replica taken back.
   */
  takeBack(warming: Replica[], count: number): Promise<void>[] {
    const resumes: Promise<void>[] = [];
    for (const r of [...warming]) {
      if (resumes.length >= count) break;
      const notice = this.core.runs.get(r.service)?.freezeNotice;
      if (!notice || r.state !== 'warming' || r.frozen || !this.core.notices.cancel(r.id)) continue;
      warming.splice(warming.indexOf(r), 1);
      r.state = 'running';
      resumes.push(this.core.notices.resume(notice, this.noticeTarget(r)));
      this.core.table.notify(r.service);
    }
    return resumes;
  }

  /** What a freeze notice needs of a replica: its signal goes to the leader, not the whole group. */
  private noticeTarget(r: Replica): NoticeTarget {
    return { service: r.service, replica: r.id, signal: (name) => this.stopper.signal(r, name, true) };
  }

  /**
   * Rewrites a spawned replica's record with `frozen`, after the writes before it (never after its
   * removal: a late write would resurrect the record). Resolves to the write's error, if any.
   */
  persist(r: Replica, frozen: boolean): Promise<Error | undefined> {
    const write = r.saved.then(() => {
      if (!this.core.table.holds(r) || r.pid === undefined || r.startTime === undefined) return undefined;
      return saveRecord(this.core.recordsDir, {
        id: r.id,
        service: r.service,
        instance: this.core.ctx.instance,
        pid: r.pid,
        startTime: r.startTime,
        command: [...r.command],
        startedAt: r.startedAt,
        ...(frozen ? { frozen: true } : {}),
      });
    });
    r.saved = write;
    return write;
  }

  /**
   * Reading /proc for every replica on every tick costs more than the rest of the loop together: observe()
   * syncs every FROZEN_SYNC_MS, so a stop or continue from elsewhere is seen within 5 s there, and at once
   * by the next scale call (which syncs its service).
   */
  syncIfDue(): void {
    const now = this.core.ctx.clock.now();
    if (now - this.frozenSyncedAt >= FROZEN_SYNC_MS) {
      this.frozenSyncedAt = now;
      this.syncFrozen();
    }
  }

  /**
   * /proc has the last word: a frozen replica that runs again (a SIGCONT from someone else) counts as
   * running, and a running one that is stopped (a SIGSTOP from elsewhere, or another instance sharing the
   * state folder froze it) as frozen. Replicas in the middle of a freeze, thaw or stop are left alone.
   * Counts replicas (of one service, or all) stopped by someone else as frozen, continued ones as running.
   */
  syncFrozen(service?: string): void {
    for (const r of this.core.table.values()) {
      if ((r.state !== 'frozen' && r.state !== 'running') || r.pid === undefined) continue;
      if (service !== undefined && r.service !== service) continue;
      const stat = readProcStat(r.pid);
      if (!stat || stat.startTime !== r.startTime || stat.state === 'Z') continue;
      // 'T' is stopped; only a 'D' (a shell waiting on a stopped vfork child) needs a look at the group.
      const stopped = stat.state === 'T' || (stat.state === 'D' && isGroupStopped(r.pid));
      if (r.state === 'running' && stopped) {
        this.core.ctx.logger.log('warn', `replica ${r.id} of ${r.service} is stopped: counted as frozen`, {
          service: r.service,
          pid: r.pid,
        });
        r.frozen = true;
        r.state = 'frozen';
      } else if (r.state === 'frozen' && !stopped && (stat.state === 'R' || stat.state === 'S')) {
        this.core.ctx.logger.log(
          'warn',
          `replica ${r.id} of ${r.service} was frozen and runs again: counted as running`,
          {
            service: r.service,
            pid: r.pid,
          },
        );
        r.frozen = false;
        r.state = 'running';
      } else {
        continue;
      }
      void this.persist(r, r.frozen);
      this.core.table.notify(r.service);
    }
  }
}
