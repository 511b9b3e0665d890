// Freezing on the docker back-end: pause and unpause containers, freeze notices (../freeze-notify.ts), pauses made from outside.
//
// A frozen replica is a paused container (the cgroup freezer): it keeps its memory and its work, and gets no
// CPU. It counts as `frozen` (also while it is being removed, which is `DELETE ?force=true` without
// unpausing it), never as running. A replica being started to join the warm pool counts as `warming` until
// it is paused. A pause in flight still counts as running; an unpause in flight counts as starting: capacity
// is never under-counted. Pauses and unpauses run in parallel, at most `concurrency` at once.
import { errorMessage } from '../../core/errors.js';
import type { FreezeNotice } from '../../core/types.js';
import { DockerApiError, DockerUnreachableError } from '../../infra/docker-api.js';
import type { FreezeNotices, NoticeTarget } from '../freeze-notify.js';
import { Limiter } from '../limiter.js';
import { isStarting, isWarming, type Replica } from './replica.js';
import type { DockerState } from './state.js';

export class Pauses {
  private readonly pauses: Limiter;

  constructor(
    private readonly state: DockerState,
    concurrency: number,
    /** Replicas told of a freeze and in their grace. */
    private readonly notices: FreezeNotices,
    /** Stops and removes a replica (lifecycle.ts): one found gone or dead by a pause or unpause. */
    private readonly stop: (r: Replica, now: boolean) => void,
  ) {
    this.pauses = new Limiter(concurrency);
  }

  /** Pauses a running replica now (it counts as running until the pause returns). False if it is gone. */
  freeze(r: Replica): Promise<boolean> {
    const notice = this.noticeOf(r);
    if (notice) {
      // Told first, paused after its grace, in the background: it counts as warming (all of its capacity)
      // meanwhile, and a scale-up can take it back (adoptWarming). Not awaited by the scale call.
      r.state = 'warming';
      r.work = r.work.then(() => this.noticeThenPause(r, notice, false));
      return Promise.resolve(true);
    }
    r.state = 'frozen';
    const done = r.work.then(() => this.pauses.run(() => this.pause(r)));
    r.work = done.then(() => {});
    return done;
  }

  /** A replica started to join the warm pool runs (lifecycle.ts): paused, after its notice if it has one. */
  async warmed(r: Replica): Promise<void> {
    const notice = this.noticeOf(r);
    if (notice) return this.noticeThenPause(r, notice, true);
    await this.pauses.run(() => this.pause(r));
  }

  /** Unpauses a frozen replica now (it counts as starting until then). False if it is gone. */
  thaw(r: Replica): Promise<boolean> {
    r.state = 'starting';
    const done = r.work.then(() => this.pauses.run(() => this.unpause(r)));
    r.work = done.then(() => {});
    const notice = this.noticeOf(r);
    if (!notice) return done;
    // The cgroup freezer tells the process nothing: a notice's replica hears of its thaw from us.
    return done.then((ok) => {
      if (ok && r.state === 'running') void this.notices.resume(notice, this.noticeTarget(r));
      return ok;
    });
  }

  /** A warming replica becomes active: it runs once started (unpaused if its pause came first). */
  adoptWarming(r: Replica): void {
    const notice = this.noticeOf(r);
    if (notice && this.notices.cancel(r.name)) {
      // In its grace: never paused, so it simply runs on, told so.
      r.state = 'running';
      void this.notices.resume(notice, this.noticeTarget(r));
      return;
    }
    r.state = 'starting';
    r.work = r.work.then(async () => {
      if (r.paused) await this.pauses.run(() => this.unpause(r));
    });
  }

  /** At close: a container in its freeze notice's grace is left running for the next run, told to go on. */
  async resumeNoticed(): Promise<void> {
    const resumed: Promise<void>[] = [];
    for (const r of this.state.each()) {
      const notice = this.noticeOf(r);
      if (notice && r.state === 'warming' && this.notices.cancel(r.name)) {
        r.state = 'running';
        resumed.push(this.notices.resume(notice, this.noticeTarget(r)));
      }
    }
    await Promise.all(resumed);
  }

  /** Asks the engine whether a container is paused, and takes its word unless we acted on it meanwhile. */
  async recheckPaused(r: Replica): Promise<void> {
    const asked = this.state.ctx.clock.now();
    try {
      const { body } = await this.state.api.request<{ State?: { Running?: boolean; Paused?: boolean } }>(
        'GET',
        `/containers/${r.id}/json`,
        { signal: this.state.signal, timeoutMs: 10_000 },
      );
      const settled = !r.busy && r.freezeOps === 0 && r.frozenAt < asked;
      const paused = body.State?.Paused === true;
      if (body.State?.Running && settled && r.paused !== paused) this.pausedFromOutside(r, paused);
    } catch {
      // gone (its destroy event drops it) or the engine is away (the next listing reconciles)
    }
  }

  /** Someone else paused or unpaused one of ours: report it as it is (frozen, or running again). */
  pausedFromOutside(r: Replica, paused: boolean): void {
    if (!this.state.tracks(r)) return;
    r.paused = paused;
    if (paused && r.state === 'running') r.state = 'frozen';
    else if (!paused && r.state === 'frozen') r.state = 'running';
    this.state.ctx.logger.log(
      'info',
      `container ${r.name} of ${r.service} was ${paused ? 'paused' : 'unpaused'} from outside`,
      {
        service: r.service,
      },
    );
    this.state.notify(r.service);
  }

  private noticeOf(r: Replica): FreezeNotice | undefined {
    return this.state.runs.get(r.service)?.freezeNotice;
  }

  /** After the notice's grace: paused if still meant to be frozen; running on if a scale-up took it back. */
  private async noticeThenPause(r: Replica, notice: FreezeNotice, fresh: boolean): Promise<void> {
    if (!isWarming(r) || r.id === undefined) return;
    if ((await this.notices.before(notice, this.noticeTarget(r), fresh)) && isWarming(r)) {
      await this.pauses.run(() => this.pause(r));
    } else if (isStarting(r) && !r.paused) {
      r.state = 'running'; // taken back before its notice went out
      this.state.notify(r.service);
    }
  }

  /** What a freeze notice needs of a container: its signal goes to the main process. */
  private noticeTarget(r: Replica): NoticeTarget {
    return {
      service: r.service,
      replica: r.name,
      signal: async (name) => {
        if (r.id === undefined) return;
        await this.state.api.request('POST', `/containers/${r.id}/kill`, {
          query: { signal: name },
          timeoutMs: 10_000,
        });
      },
    };
  }

  private async pause(r: Replica): Promise<boolean> {
    if (!this.state.tracks(r) || r.id === undefined) return false;
    if (r.state !== 'frozen' && r.state !== 'warming') return r.state !== 'stopping'; // changed our mind
    if (!r.paused) {
      r.freezeOps++;
      try {
        await this.state.api.request('POST', `/containers/${r.id}/pause`, { timeoutMs: 30_000 });
      } catch (error) {
        if (!(error instanceof DockerApiError && /already paused/i.test(error.message))) {
          return this.freezeFailed(r, 'pause', error);
        }
      } finally {
        r.freezeOps--;
      }
      r.paused = true;
      r.frozenAt = this.state.ctx.clock.now();
    }
    if (isWarming(r)) r.state = 'frozen';
    this.state.notify(r.service);
    return true;
  }

  private async unpause(r: Replica): Promise<boolean> {
    if (!this.state.tracks(r) || r.id === undefined || r.state === 'stopping') return false;
    if (r.state !== 'starting') {
      // Chosen to freeze again before this thaw's turn came: it stays paused.
      if (r.state === 'warming' && r.paused) {
        r.state = 'frozen';
        this.state.notify(r.service);
      }
      return true;
    }
    if (r.paused) {
      r.freezeOps++;
      try {
        await this.state.api.request('POST', `/containers/${r.id}/unpause`, { timeoutMs: 30_000 });
      } catch (error) {
        if (!(error instanceof DockerApiError && /not paused/i.test(error.message))) {
          return this.freezeFailed(r, 'unpause', error);
        }
      } finally {
        r.freezeOps--;
      }
      r.paused = false;
      r.frozenAt = this.state.ctx.clock.now();
    }
    if (isStarting(r)) {
      r.state = 'running';
      this.state.notify(r.service);
    }
    return true;
  }

  /**
   * A pause or unpause failed. Engine unreachable: the replica stays as it was (the next tick asks again).
   * Otherwise it is gone or dead (404, 409 not running): it is removed, and replaced if it was wanted.
   */
  private freezeFailed(r: Replica, what: string, error: unknown): false {
    this.state.ctx.logger.log('warn', `cannot ${what} container ${r.name}: ${errorMessage(error)}`, {
      service: r.service,
    });
    if (this.state.tracks(r) && r.state !== 'stopping') {
      if (error instanceof DockerUnreachableError) r.state = r.paused ? 'frozen' : 'running';
      else this.stop(r, true);
      this.state.notify(r.service);
    }
    return false;
  }
}
