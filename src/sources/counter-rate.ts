/**
 * Arrivals per second from successive readings of a counter that only grows (messages ever added to a
 * stream, the last sequence number, a producer's INCR key): the counter's growth over the last `windowMs`.
 * A window, rather than the last two readings, because at a 100 ms tick the step-to-step change is mostly
 * noise.
 */
export class CounterRate {
  private readonly windowMs: number;
  private samples: { at: number; count: number }[] = [];

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /**
   * Records a reading and returns the rate, or undefined while there is no history yet (the first reading,
   * or the first after the counter went back, e.g. the stream was recreated): a rate is never guessed.
   */
  update(count: number, at: number): number | undefined {
    const last = this.samples.at(-1);
    if (last && (count < last.count || at < last.at)) this.samples = [];
    if (last && at === last.at) this.samples.pop();
    this.samples.push({ at, count });
    // Keep the newest sample at or before the window's start, so the span covers the whole window.
    const start = at - this.windowMs;
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= start) this.samples.shift();
    const first = this.samples[0];
    if (!first || first.at === at) return undefined;
    return ((count - first.count) * 1000) / (at - first.at);
  }
}
