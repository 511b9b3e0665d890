/** Exponential backoff for one service's failing scale calls: 100 ms, 200 ms, ... up to 10 s. */
export class Backoff {
  private failures = 0;
  private retryAt = 0;

  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 10_000,
  ) {}

  /** Records a failure at `now`; returns how long to wait before the next attempt. */
  fail(now: number): number {
    this.failures++;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
    this.retryAt = now + delay;
    return delay;
  }

  waiting(now: number): boolean {
    return now < this.retryAt;
  }
}
