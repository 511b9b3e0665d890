/** One service's column of a parsed trace (the shape src/sources/trace.ts produces). */
export interface TraceColumn {
  /** Seconds per interval. */
  readonly step: number;
  /** Units that arrived during each interval. */
  readonly demand: readonly number[];
}

/**
 * A trace column replayed against simulated time: `timeScale` trace seconds pass per simulated second.
 * Demand arrives evenly within each interval, so arrivals over any span are exact, however the span and the
 * intervals line up (a 1 s trace compressed 60× has intervals much shorter than a tick).
 */
export class DemandReplay {
  readonly step: number;
  readonly timeScale: number;
  /** Simulated ms the column lasts. */
  readonly durationMs: number;
  private readonly demand: Float64Array;
  /** cumulative[i] = units that arrived before interval i. */
  private readonly cumulative: Float64Array;
  private readonly intervalMs: number;
  /** changes[i] = the first interval after i whose demand differs from interval i's (length: past the end). */
  private readonly changes: Int32Array;

  constructor(column: TraceColumn, timeScale: number) {
    this.step = column.step;
    this.timeScale = timeScale;
    this.demand = Float64Array.from(column.demand);
    this.cumulative = new Float64Array(this.demand.length + 1);
    for (let i = 0; i < this.demand.length; i++) {
      this.cumulative[i + 1] = (this.cumulative[i] as number) + (this.demand[i] as number);
    }
    this.intervalMs = (column.step * 1000) / timeScale;
    this.durationMs = this.demand.length * this.intervalMs;
    const n = this.demand.length;
    this.changes = new Int32Array(n);
    for (let i = n - 1; i >= 0; i--) {
      const next =
        i + 1 < n && this.demand[i + 1] === this.demand[i] ? (this.changes[i + 1] as number) : i + 1;
      this.changes[i] = next;
    }
  }

  /**
   * When the rate next changes after `ms`: the start of the first later interval with another demand, the
   * end of the column when the demand there is not 0 (it is 0 after the end), else Infinity.
   */
  nextChangeMs(ms: number): number {
    const n = this.demand.length;
    const i = this.index(ms);
    if (i >= n) return Number.POSITIVE_INFINITY;
    const next = this.changes[i] as number;
    if (next < n) return this.startOf(next);
    return this.demand[i] === 0 ? Number.POSITIVE_INFINITY : this.durationMs;
  }

  get intervals(): number {
    return this.demand.length;
  }

  /** The interval simulated time `ms` falls in (may be past the end). */
  index(ms: number): number {
    // The epsilon keeps exact boundaries from landing an interval early through rounding.
    return Math.floor(ms / this.intervalMs + 1e-9);
  }

  /** Arrival rate at `ms`, in units per simulated second; 0 after the end. */
  rate(ms: number): number {
    return this.rateOf(this.index(ms));
  }

  rateOf(interval: number): number {
    const d = this.demand[interval];
    return d === undefined ? 0 : (d / this.step) * this.timeScale;
  }

  /** What a trace source reads at `ms`: the demand of the current interval. */
  value(ms: number): number {
    return this.demand[this.index(ms)] ?? 0;
  }

  /** Units arriving in [fromMs, toMs). */
  arrivals(fromMs: number, toMs: number): number {
    return this.arrived(toMs) - this.arrived(fromMs);
  }

  /** Units that arrived before `ms`. */
  arrived(ms: number): number {
    const n = this.demand.length;
    if (ms <= 0) return 0;
    const x = ms / this.intervalMs;
    const i = Math.floor(x);
    if (i >= n) return this.cumulative[n] as number;
    return (this.cumulative[i] as number) + (this.demand[i] as number) * (x - i);
  }

  /** The start of interval i, in simulated ms. */
  startOf(interval: number): number {
    return interval * this.intervalMs;
  }

  /** The highest rate over all intervals. */
  peakRate(): number {
    let peak = 0;
    for (let i = 0; i < this.demand.length; i++) peak = Math.max(peak, this.rateOf(i));
    return peak;
  }
}
