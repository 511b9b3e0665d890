/** Exponential backoff for one service's failing scale calls: 100 ms, 200 ms, ... up to 10 s. */
export class Backoff {
  private failures = 0;
  private retryAt = 0;
  private delay = 0;

  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 10_000,
  ) {}

  /** Records a failure at `now`; returns how long to wait before the next attempt. */
  fail(now: number): number {
    this.failures++;
    this.delay = Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
    this.retryAt = now + this.delay;
    return this.delay;
  }

  /** Back to the first delay (the thing works again). */
  reset(): void {
    this.failures = 0;
    this.retryAt = 0;
    this.delay = 0;
  }

  /**
   * Whether the wait is still on. A clock that went back (it should not: see Clock.now) would otherwise
   * leave more than the delay to wait, for as long as it went back: the wait ends instead.
   */
  waiting(now: number): boolean {
    return now < this.retryAt && this.retryAt - now <= this.delay;
  }
}
