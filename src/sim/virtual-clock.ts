import type { Clock } from '../core/ports.js';

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly wake: () => void;
}

/**
 * Simulated time: now() only moves when the simulator moves it, and sleep() resolves when the simulator
 * moves past the wake-up time, never through a real timer. Sleepers wake in time order (ties in call order).
 */
export class VirtualClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = { at: this.time + Math.max(0, ms), seq: this.seq++, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Sleepers still waiting. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** Moves time to `to` (never backwards) and wakes every sleeper due by then, earliest first. */
  set(to: number): void {
    if (to > this.time) this.time = to;
    if (this.sleepers.length === 0) return;
    const due = this.sleepers.filter((s) => s.at <= this.time);
    if (due.length === 0) return;
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    due.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const s of due) s.wake();
  }
}
