// The recent slope of a signal (issue 15 §3): a least-squares line through the samples of the last window,
// so a ramp's need can be projected ahead, a boot time, before it reaches capacity. Pure.

/** Samples of one signal within the last `windowMs`, and where their line points. */
export class Trend {
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly windowMs: number) {}

  add(now: number, value: number): void {
    this.times.push(now);
    this.values.push(value);
    while ((this.times[0] as number) < now - this.windowMs) {
      this.times.shift();
      this.values.shift();
    }
  }

  /** The least-squares slope, per ms; 0 with fewer than 3 samples or under half the window covered. */
  slope(): number {
    const n = this.times.length;
    const first = this.times[0];
    const last = this.times[n - 1];
    if (n < 3 || first === undefined || last === undefined || last - first < this.windowMs / 2) return 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < n; i++) {
      sx += (this.times[i] as number) - first;
      sy += this.values[i] as number;
    }
    const mx = sx / n;
    const my = sy / n;
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < n; i++) {
      const dx = (this.times[i] as number) - first - mx;
      sxy += dx * ((this.values[i] as number) - my);
      sxx += dx * dx;
    }
    return sxx > 0 ? sxy / sxx : 0;
  }

  /** The last sample plus the rise the slope gives over `aheadMs`, when rising; the last sample otherwise. */
  ahead(aheadMs: number): number {
    const last = this.values.at(-1) ?? 0;
    return last + Math.max(0, this.slope()) * aheadMs;
  }
}
