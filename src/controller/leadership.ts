// Leader election on top of a lease, with fencing: the controller acts (scales) only while isLeader() holds.
import { errorMessage } from '../core/errors.js';
import type { Clock, Logger } from '../core/ports.js';

/**
 * A lease that one holder at a time owns for a time to live (ttl), kept in a store every instance shares
 * (Redis: src/ha/redis-lease.ts). Every call is bounded by the store's own timeout or the signal.
 */
export interface Lease {
  /** This instance's holder id. */
  readonly id: string;
  /** Takes the lease for a ttl if nobody holds it (or we already do); true when we hold it now. */
  acquire(signal: AbortSignal): Promise<boolean>;
  /** Extends the lease by a ttl only if we still hold it; false when someone else does or nobody does. */
  renew(signal: AbortSignal): Promise<boolean>;
  /** Gives the lease up if we hold it (never deletes another holder's). */
  release(): Promise<void>;
  /** Who holds the lease now, or null. */
  holder(signal: AbortSignal): Promise<string | null>;
  close(): Promise<void>;
}

export interface LeadershipOptions {
  readonly lease: Lease;
  readonly ttlMs: number;
  /**
   * Safety margin: the leader stops acting once ttl − margin has passed since the last successful renewal
   * was sent, before the lease can expire for others. ttl / 5 by default.
   */
  readonly marginMs?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Milliseconds from a monotonic clock; performance.now() by default. */
  readonly timer?: () => number;
  /**
   * Called when this instance starts or stops holding the lease, with who holds it as last seen; instead
   * of the "leading" log lines (a claim says it in its own words).
   */
  readonly onChange?: (holding: boolean, holder: string | null) => void;
}

/** Who leads, as /api/state shows it. */
export interface LeaderState {
  readonly holder: string | null;
  readonly self: boolean;
}

/**
 * Runs the election: a follower tries to acquire the lease every ttl/3; the leader renews it every ttl/3.
 * Fencing: isLeader() is true only while less than ttl − margin has passed (on this process's monotonic
 * clock) since the last renewal that succeeded was *sent*; the store counted the ttl from a later moment,
 * so this instance stops acting strictly before any other instance can take the lease, however long a
 * renewal hangs or the network stays cut.
 */
export class Leadership {
  private readonly opts: LeadershipOptions;
  private readonly timer: () => number;
  private readonly marginMs: number;
  /** When the last successful acquire/renew was sent, on the monotonic timer; undefined when not leading. */
  private renewedAt: number | undefined;
  private lastHolder: string | null = null;
  /** Why the last attempt failed (the store unreachable or refusing), until one succeeds. */
  private failure: string | undefined;
  private wasLeader = false;
  private readonly loop = new AbortController();
  private running: Promise<void> | undefined;

  constructor(options: LeadershipOptions) {
    this.opts = options;
    this.timer = options.timer ?? (() => performance.now());
    this.marginMs = options.marginMs ?? Math.round(options.ttlMs / 5);
    if (!(this.marginMs > 0 && this.marginMs < options.ttlMs)) {
      throw new RangeError(`margin must be within (0, ttl), got ${this.marginMs}ms of ${options.ttlMs}ms`);
    }
  }

  get id(): string {
    return this.opts.lease.id;
  }

  /** True while this instance may act: it holds the lease and its last renewal is recent enough. */
  isLeader(): boolean {
    if (this.renewedAt === undefined) return false;
    if (this.timer() - this.renewedAt < this.opts.ttlMs - this.marginMs) return true;
    this.renewedAt = undefined;
    this.noteChange();
    return false;
  }

  /** Why the last attempt on the store failed, or undefined when it answered. */
  lastFailure(): string | undefined {
    return this.failure;
  }

  state(): LeaderState {
    const self = this.isLeader();
    return { holder: self ? this.id : this.lastHolder, self };
  }

  /** Starts campaigning; one attempt runs at once, then one every ttl/3. */
  start(): void {
    this.running ??= this.run();
  }

  /** Stops campaigning, and releases the lease if held, so a follower takes over at once. */
  async stop(): Promise<void> {
    this.loop.abort();
    await this.running;
    const held = this.renewedAt !== undefined;
    this.renewedAt = undefined;
    this.noteChange();
    if (held) await this.opts.lease.release().catch(() => {});
    await this.opts.lease.close();
  }

  private async run(): Promise<void> {
    const { lease, clock, ttlMs, logger } = this.opts;
    const every = Math.max(1, Math.floor(ttlMs / 3));
    while (!this.loop.signal.aborted) {
      const sent = this.timer();
      // No attempt may outlive its period; a late answer is not used.
      const signal = AbortSignal.any([this.loop.signal, AbortSignal.timeout(every)]);
      try {
        const leading = this.isLeader();
        const ok = leading ? await lease.renew(signal) : await lease.acquire(signal);
        if (this.loop.signal.aborted) break;
        this.failure = undefined;
        if (ok) {
          this.renewedAt = sent;
          this.lastHolder = lease.id;
        } else {
          // Someone else holds it (a renewal that fails so means we lost it: stop acting now).
          this.renewedAt = undefined;
          this.lastHolder = await lease.holder(signal).catch(() => this.lastHolder);
        }
      } catch (error) {
        // Unreachable store: keep the renewal time; isLeader() turns false on its own at the deadline.
        this.failure = errorMessage(error);
        logger.log('debug', 'lease attempt failed', { error: this.failure });
      }
      this.noteChange();
      const rest = every - (this.timer() - sent);
      await clock.sleep(Math.max(0, rest), this.loop.signal);
    }
  }

  private noteChange(): void {
    const now = this.renewedAt !== undefined;
    if (now === this.wasLeader) return;
    this.wasLeader = now;
    if (this.opts.onChange) {
      this.opts.onChange(now, now ? this.id : this.lastHolder === this.id ? null : this.lastHolder);
      return;
    }
    this.opts.logger.log(
      now ? 'info' : 'warn',
      now ? `leading as ${this.id}` : `no longer leading (${this.id})`,
    );
  }
}
