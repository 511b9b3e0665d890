import { errorMessage } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import { abortable } from './abortable.js';

export interface ReconnectingOptions<T> {
  /** Opens a connection; it may outlive the read that asked for it (it is kept for the next one). */
  readonly open: () => Promise<T>;
  readonly dispose: (connection: T) => Promise<void>;
  readonly clock: Clock;
  /** An attempt that has not connected by then counts as failed (a late connection is closed). */
  readonly timeoutMs: number;
  /** First wait after a failed attempt; doubles up to maxDelayMs. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * One connection, opened when first needed and reused by every read after it. When it breaks (the owner
 * calls drop()) the next read opens another, so a source reconnects by itself, without a timer of its own.
 * Failed attempts back off (100 ms doubling to 2 s): a server that is down gets a few attempts a second,
 * not one per tick per source, and reads meanwhile fail at once with the last error.
 */
export class Reconnecting<T> {
  private readonly opts: ReconnectingOptions<T>;
  private current: T | undefined;
  private opening: Promise<T> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError = '';
  private closed = false;

  constructor(options: ReconnectingOptions<T>) {
    this.opts = options;
  }

  /** The open connection, opening one if needed; rejects when the signal aborts first. */
  async get(signal: AbortSignal): Promise<T> {
    if (this.closed) throw new Error('source is closed');
    if (this.current !== undefined) return this.current;
    if (!this.opening) {
      const wait = this.retryAt - this.opts.clock.now();
      if (wait > 0) throw new Error(`${this.lastError} (reconnecting in ${Math.ceil(wait)}ms)`);
      this.opening = this.attempt();
    }
    return abortable(this.opening, signal);
  }

  /** Forgets a broken connection (if it is still the current one) and disposes of it. */
  drop(connection: T): void {
    if (this.current !== connection) return;
    this.current = undefined;
    this.opts.dispose(connection).catch(() => {});
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    if (current !== undefined) await this.opts.dispose(current).catch(() => {});
    // An attempt still in flight is not awaited: attempt() disposes of its connection when it lands.
  }

  private async attempt(): Promise<T> {
    const { open, dispose, clock, initialDelayMs = 100, maxDelayMs = 2000 } = this.opts;
    const attempt = open();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no connection within ${this.opts.timeoutMs}ms`)),
        this.opts.timeoutMs,
      );
    });
    try {
      const connection = await Promise.race([attempt, timeout]);
      if (this.closed) {
        await dispose(connection).catch(() => {});
        throw new Error('source is closed');
      }
      this.current = connection;
      this.failures = 0;
      this.retryAt = 0;
      return connection;
    } catch (error) {
      this.lastError = errorMessage(error);
      this.retryAt = clock.now() + Math.min(maxDelayMs, initialDelayMs * 2 ** this.failures);
      this.failures++;
      // An attempt that lost the race may still connect: close what it opens.
      attempt.then(
        (late) => dispose(late).catch(() => {}),
        () => {},
      );
      throw error;
    } finally {
      clearTimeout(timer);
      this.opening = undefined;
    }
  }
}
