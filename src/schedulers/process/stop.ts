// How a process replica ends: signals to its process group, a stop with its grace (SIGTERM, SIGKILL
// after it), a frozen one killed without a thaw, what is left of a group whose leader exited, the poll of
// adopted replicas (not our children: no exit event), and forgetting a replica once it is gone.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { DEFAULT_STOP_GRACE_MS } from '../../core/types.js';
import { groupLingers, isAlive } from './proc.js';
import { errorCode } from './records.js';
import type { ProcessCore, Replica } from './replica.js';

const POLL_MS = 100;

/** Stops, signals and forgets the replicas of a ProcessCore's table. */
export class Stopper {
  private readonly core: ProcessCore;
  /** Record deletions under way; close() waits for them. */
  private readonly removals = new Set<Promise<unknown>>();
  private pollTimer: NodeJS.Timeout | undefined;
  /** Told when a replica is forgotten (the logs' retention looks again). */
  private readonly onGone: () => void;

  constructor(core: ProcessCore, onGone: () => void) {
    this.core = core;
    this.onGone = onGone;
  }

  /**
   * SIGTERM to the group now, SIGKILL after the service's grace period; a frozen replica gets SIGKILL at
   * once, without a thaw. Does not wait.
   */
  stop(r: Replica): void {
    const { table, notices, modes, runs, ctx } = this.core;
    if (r.state === 'stopping' || !table.holds(r)) return;
    notices.cancel(r.id); // a freeze in its grace: it goes anyway
    r.state = 'stopping';
    r.child?.ref(); // keep the event loop alive until its exit arrives (stopAll waits for it)
    if (modes.hurried) {
      // The user asked twice: no grace (SIGKILL also ends a frozen process).
      this.signal(r, 'SIGKILL');
      if (!r.child) this.startPolling();
      return;
    }
    if (r.frozen && !modes.draining) {
      // A stopped process would only act on SIGTERM once thawed, and a removed frozen replica is never
      // thawed: its work is given up, its memory freed at once.
      this.signal(r, 'SIGKILL');
      if (!r.child) this.startPolling();
      return;
    }
    if (r.frozen) {
      // Draining: continued first, so that it acts on its SIGTERM and is never left stopped.
      this.signal(r, 'SIGCONT');
      r.frozen = false;
    }
    this.signal(r, 'SIGTERM');
    const grace = runs.get(r.service)?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    r.killTimer = setTimeout(() => {
      if (!table.holds(r)) return;
      ctx.logger.log('warn', `replica ${r.id} of ${r.service} outlived its ${grace}ms grace: SIGKILL`, {
        service: r.service,
        id: r.id,
        pid: r.pid,
      });
      this.signal(r, 'SIGKILL');
    }, grace);
    if (!r.child) this.startPolling();
  }

  /** Stops a replica without a grace period (with one while draining). */
  kill(r: Replica): void {
    const frozen = r.frozen;
    this.stop(r);
    if (!frozen && !this.core.modes.draining) this.signal(r, 'SIGKILL');
  }

  /** From now on every stop is a SIGKILL, and replicas already stopping get one now. */
  hurry(): void {
    this.core.modes.hurried = true;
    for (const r of this.core.table.values()) {
      if (r.state !== 'stopping') continue;
      clearTimeout(r.killTimer);
      this.signal(r, 'SIGKILL');
    }
  }

  /** Signals the replica's process group. Only ever called for a pid we spawned or verified. */
  signal(r: Replica, signal: NodeJS.Signals, leaderOnly = false): void {
    const pid = r.pid;
    if (pid === undefined || pid <= 1 || !this.core.table.holds(r)) return;
    if (r.leaderGone) {
      // Only the group is left, and only while it has members is its id ours.
      if (!leaderOnly && groupLingers(pid, r.startTime)) this.signalGone(r, pid, signal);
      return;
    }
    // An adopted pid is checked again right before each signal: it may have exited and been reused since.
    if (!r.child && !isAlive(pid, r.startTime)) return;
    try {
      process.kill(leaderOnly ? pid : -pid, signal);
    } catch (error) {
      if (errorCode(error) !== 'ESRCH') {
        this.warn(r, error, { pid, signal });
        return;
      }
      // No such group: the replica moved itself to another one; signal it alone.
      try {
        process.kill(pid, signal);
      } catch (inner) {
        if (errorCode(inner) !== 'ESRCH') this.warn(r, inner, { pid, signal });
      }
    }
  }

  private signalGone(r: Replica, pgid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(-pgid, signal);
    } catch (error) {
      if (errorCode(error) !== 'ESRCH') this.warn(r, error, { pgid, signal });
    }
  }

  private warn(r: Replica, error: unknown, fields: Record<string, unknown>): void {
    this.core.ctx.logger.log('warn', `cannot signal replica ${r.id}: ${errorMessage(error)}`, fields);
  }

  /**
   * After its leader exited: whether processes of the replica's group live on. If so, they are stopped as
   * the replica would be (SIGTERM, SIGKILL after the grace) and it counts as stopping until they are gone.
   */
  lingering(r: Replica, fields: Record<string, unknown> = {}): boolean {
    if (r.pid === undefined || !groupLingers(r.pid, r.startTime)) return false;
    if (r.leaderGone) return true;
    r.leaderGone = true;
    this.core.ctx.logger.log(
      r.state === 'stopping' ? 'info' : 'warn',
      `replica ${r.id} of ${r.service} exited, processes of its group live on: stopping them`,
      { service: r.service, pid: r.pid, ...fields },
    );
    this.stop(r);
    this.startPolling();
    this.core.table.notify(r.service);
    return true;
  }

  /**
   * Forgets a replica that is gone, deletes its record, and tells the subscribers. Resolves once the
   * record is deleted (never rejects).
   */
  remove(r: Replica): Promise<unknown> {
    const { table, recordsDir, ctx } = this.core;
    if (!table.forget(r)) return r.saved;
    clearTimeout(r.killTimer);
    r.child?.unref();
    r.markGone();
    this.onGone();
    const path = join(recordsDir, `${r.id}.json`);
    // After the write settles, or a late write would resurrect the record. A failed write may still have
    // left the pending record: it goes too (removing needs no free space).
    r.saved = r.saved.then(async () => {
      try {
        await rm(path, { force: true });
      } catch (error) {
        ctx.logger.log('warn', `cannot remove replica record ${path}: ${errorMessage(error)}`);
      }
      return undefined;
    });
    const removal = r.saved;
    this.removals.add(removal);
    void removal.then(() => this.removals.delete(removal));
    table.notify(r.service);
    return removal;
  }

  /** The record deletions under way (close() waits for them). */
  pending(): Promise<unknown>[] {
    return [...this.removals];
  }

  logGone(r: Replica, fields: Record<string, unknown> = {}): void {
    const expected = r.state === 'stopping';
    this.core.ctx.logger.log(
      expected ? 'info' : 'warn',
      `replica ${r.id} of ${r.service} ${expected ? 'stopped' : 'exited'}`,
      {
        service: r.service,
        pid: r.pid,
        ...fields,
      },
    );
  }

  /**
   * Adopted replicas are not our children (no 'exit' event): look them up in /proc. Replicas whose leader
   * exited are looked at until their group is empty.
   */
  pollAdopted(): void {
    let stopping = false;
    for (const r of [...this.core.table.values()]) {
      if (r.pid === undefined) continue;
      if (r.leaderGone) {
        if (groupLingers(r.pid, r.startTime)) stopping = true;
        else {
          this.logGone(r);
          void this.remove(r);
        }
        continue;
      }
      if (r.child) continue;
      if (!isAlive(r.pid, r.startTime)) {
        if (this.lingering(r)) stopping = true;
        else {
          this.logGone(r);
          void this.remove(r);
        }
      } else if (r.state === 'stopping') {
        stopping = true;
      }
    }
    if (!stopping) this.stopPolling();
  }

  private stopPolling(): void {
    if (!this.pollTimer) return;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** Ends the poll for good (close): a later stop does not start it again. */
  close(): void {
    clearInterval(this.pollTimer);
  }

  private startPolling(): void {
    this.pollTimer ??= setInterval(() => this.pollAdopted(), POLL_MS);
  }
}
