// Freeze notices (issue 13, item 9): a frozen replica keeps its connections, so a frozen queue consumer
// would hold its unacknowledged messages until the broker times the connection out (minutes). A service
// with `notify` is told before each freeze of one of its replicas and given `grace` to let go of its work
// (stop consuming, requeue what it holds); then it is frozen. It is told again when it runs again.
//
// - A signal notice (`SIGUSR1`) goes to the replica's main process (the process back-end: the group
//   leader; docker: the container's main process). Its resume is SIGCONT: the thaw itself on the process
//   back-end, sent after the unpause on docker, and sent when a freeze is called off during its grace.
// - A URL notice is POSTed `{"event":"freeze","service","replica","graceMs"}` (`{service}` and
//   `{replica}` in the URL filled in, URL-encoded); an answer with a 2xx status before the grace ends says
//   "done", and the freeze goes ahead at once. Its resume is the same POST with `"event":"thaw"`.
//   Redirects are not followed.
// A replica taken back during its grace (a scale-up needs it) is simply not frozen: cancel() ends the wait.
// Nothing here rejects: a notice that cannot be delivered is logged, and the grace is still given.
import { errorMessage } from '../core/errors.js';
import type { Clock, Logger } from '../core/ports.js';
import type { FreezeNotice } from '../core/types.js';

/** One replica as a notice needs it. */
export interface NoticeTarget {
  readonly service: string;
  /** The replica id (process back-end, as MICROSCALER_REPLICA) or the container name (docker). */
  readonly replica: string;
  /** Delivers a signal to the replica's main process. */
  signal(name: NodeJS.Signals): Promise<void> | void;
}

/** The longest a resume (thaw) POST may take: it is not awaited, but it must not linger either. */
const RESUME_TIMEOUT_MS = 5000;

export class FreezeNotices {
  /** Replicas in their grace, by replica id or container name: abort to call the freeze off. */
  private readonly pending = new Map<string, AbortController>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Tells the replica it is about to be frozen and waits out the grace (an HTTP answer ends it sooner).
   * A replica just started (a warm-pool refill) first gets `grace` to start, so that its handler is in
   * place before the notice: a signal it does not handle would kill it. Resolves true when the freeze
   * should go ahead, false when cancel() called it off.
   */
  async before(notice: FreezeNotice, target: NoticeTarget, fresh = false): Promise<boolean> {
    const abort = new AbortController();
    this.pending.get(target.replica)?.abort();
    this.pending.set(target.replica, abort);
    try {
      if (fresh) await this.clock.sleep(notice.graceMs, abort.signal);
      if (abort.signal.aborted) return false;
      if (isUrl(notice.notify)) {
        // The grace runs from the POST, not from its answer: a replica that never answers gets no more.
        const acked = this.post(notice, target, 'freeze', abort.signal);
        // A failed POST (logged) does not end the grace: the replica may have heard it all the same.
        const done = acked.then((ok) => (ok ? undefined : new Promise<void>(() => {})));
        await Promise.race([this.clock.sleep(notice.graceMs, abort.signal), done]);
      } else {
        await this.deliver(target, notice.notify as NodeJS.Signals);
        await this.clock.sleep(notice.graceMs, abort.signal);
      }
      return !abort.signal.aborted;
    } finally {
      if (this.pending.get(target.replica) === abort) this.pending.delete(target.replica);
      abort.abort(); // ends the sleep or the POST that lost the race
    }
  }

  /** Whether a notice's grace is running for this replica. */
  inGrace(replica: string): boolean {
    return this.pending.has(replica);
  }

  /** Calls off a freeze during its grace; true when one was pending. The caller then resumes the replica. */
  cancel(replica: string): boolean {
    const abort = this.pending.get(replica);
    if (!abort) return false;
    this.pending.delete(replica);
    abort.abort();
    return true;
  }

  /**
   * Tells a replica that it runs again (thawed, or its freeze called off): SIGCONT for a signal notice
   * (`signal: false` where the thaw was a SIGCONT already), a `thaw` POST for a URL one. Never rejects;
   * callers need not wait for it.
   */
  resume(notice: FreezeNotice, target: NoticeTarget, signal = true): Promise<void> {
    if (!isUrl(notice.notify)) return signal ? this.deliver(target, 'SIGCONT') : Promise.resolve();
    return this.post(notice, target, 'thaw', AbortSignal.timeout(RESUME_TIMEOUT_MS)).then(() => {});
  }

  private async deliver(target: NoticeTarget, name: NodeJS.Signals): Promise<void> {
    try {
      await target.signal(name);
    } catch (error) {
      this.logger.log(
        'warn',
        `cannot send ${name} to replica ${target.replica} of ${target.service}: ${errorMessage(error)}`,
        {
          service: target.service,
        },
      );
    }
  }

  /** True for a 2xx answer. */
  private async post(
    notice: FreezeNotice,
    target: NoticeTarget,
    event: 'freeze' | 'thaw',
    signal: AbortSignal,
  ): Promise<boolean> {
    const url = noticeUrl(notice.notify, target);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          event,
          service: target.service,
          replica: target.replica,
          graceMs: notice.graceMs,
        }),
        redirect: 'manual',
        signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return true;
      this.logger.log('warn', `freeze notice (${event}) to ${url} answered ${response.status}`, {
        service: target.service,
      });
    } catch (error) {
      if (!signal.aborted) {
        this.logger.log('warn', `cannot deliver freeze notice (${event}) to ${url}: ${errorMessage(error)}`, {
          service: target.service,
        });
      }
    }
    return false;
  }
}

export function isUrl(notify: string): boolean {
  return /^https?:\/\//.test(notify);
}

/** The notice's URL for one replica: `{service}` and `{replica}` replaced, URL-encoded. */
export function noticeUrl(template: string, target: Pick<NoticeTarget, 'service' | 'replica'>): string {
  return template
    .replaceAll('{service}', encodeURIComponent(target.service))
    .replaceAll('{replica}', encodeURIComponent(target.replica));
}
