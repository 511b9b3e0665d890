// The ledger of scale calls: in flight, settled but not yet seen in an observation, and abandoned (timed
// out, still unsettled), with each service's backoff. It decides nothing; it remembers.
import { errorMessage } from '../core/errors.js';
import type { Observed } from '../core/types.js';
import { Backoff } from './backoff.js';

/** A scale call in flight: what it asked for, and when it is done. */
export interface Flight {
  readonly target: number;
  readonly frozen?: number;
  readonly done: Promise<void>;
}

/** A settled call that the newest observation acted on may not show yet. */
export interface UnseenCall {
  readonly seq: number;
  readonly target: number;
  readonly frozen?: number;
}

export class CallLedger {
  /** At most one call per service at a time. */
  readonly inFlight = new Map<string, Flight>();
  private readonly backoff = new Map<string, Backoff>();
  /**
   * Scale calls that timed out and have not settled yet, per service: the counts they asked for. Such a
   * call may still land, so the highest of them stays reserved for the service until they all settle.
   */
  private readonly abandoned = new Map<string, Set<{ readonly target: number }>>();
  /** Scale calls settled so far (numbered in the order they settle). */
  private settles = 0;
  /**
   * Per service, the targets of calls that settled after the newest observation used was asked for: it may
   * not show them yet, so they count as in flight (the back-end may hold up to the highest of them).
   */
  private readonly unseen = new Map<string, UnseenCall[]>();
  /** The `seq` of the newest observation acted on; an older one answering later is not acted on. */
  private actedSeq = 0;

  /** How many calls have settled: an observation asked for now is numbered with it. */
  get seq(): number {
    return this.settles;
  }

  /** Whether an observation numbered `seq` is older than one already acted on. */
  stale(seq: number): boolean {
    return seq < this.actedSeq;
  }

  /** Records a failed call at `now` in the service's backoff; returns how long to wait before the next. */
  fail(service: string, now: number): number {
    const backoff = this.backoff.get(service) ?? new Backoff();
    this.backoff.set(service, backoff);
    return backoff.fail(now);
  }

  /** Whether the service is waiting out a backoff. */
  waiting(service: string, now: number): boolean {
    return this.backoff.get(service)?.waiting(now) ?? false;
  }

  /** A call succeeded: the backoff starts over. */
  succeeded(service: string): void {
    this.backoff.delete(service);
  }

  unseenOf(service: string): readonly UnseenCall[] | undefined {
    return this.unseen.get(service);
  }

  hasUnseen(service: string): boolean {
    return this.unseen.has(service);
  }

  hasAbandoned(service: string): boolean {
    return this.abandoned.has(service);
  }

  /**
   * Keeps a timed-out scale call's target reserved for the service until the call settles, however it
   * settles; then the service is admitted on what is observed again, and `onSettle` is told how it went.
   */
  abandon(
    service: string,
    target: number,
    attempt: Promise<void>,
    onSettle: (outcome: string) => void,
  ): void {
    const entry = { target };
    const calls = this.abandoned.get(service) ?? new Set();
    calls.add(entry);
    this.abandoned.set(service, calls);
    const settle = (outcome: string) => {
      this.settled(service, target);
      calls.delete(entry);
      if (calls.size === 0 && this.abandoned.get(service) === calls) this.abandoned.delete(service);
      onSettle(outcome);
    };
    attempt.then(
      () => settle('succeeded late'),
      (error: unknown) => settle(`failed late: ${errorMessage(error)}`),
    );
  }

  /** Numbers a settled call; until an observation asked for after it is acted on, it counts as in flight. */
  settled(service: string, target: number, frozen?: number): void {
    this.settles++;
    const entry = { seq: this.settles, target, ...(frozen === undefined ? {} : { frozen }) };
    const list = this.unseen.get(service);
    if (list) list.push(entry);
    else this.unseen.set(service, [entry]);
  }

  /** An observation asked for after `seq` calls had settled is being acted on: those calls show in it. */
  seen(seq: number): void {
    this.actedSeq = seq;
    for (const [service, list] of this.unseen) {
      const left = list.filter((c) => c.seq > seq);
      if (left.length === 0) this.unseen.delete(service);
      else if (left.length < list.length) this.unseen.set(service, left);
    }
  }

  /**
   * What a service occupies for admission: what is observed, raised to the highest count an abandoned
   * (timed-out, unsettled) call asked for, counted as starting, since that call may still start them.
   */
  reserve(service: string, o: Observed): Observed {
    const calls = this.abandoned.get(service);
    if (!calls) return o;
    let most = 0;
    for (const c of calls) most = Math.max(most, c.target);
    return most > o.running + o.starting ? { ...o, starting: most - o.running } : o;
  }
}
