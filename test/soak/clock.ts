import type { Clock } from '../../src/core/ports.js';

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly wake: () => void;
}

/**
 * Simulated time for the soak: now() moves only when the driver moves it, to the next sleeper's deadline.
 * Unlike the simulator's clock it tells when the next sleeper is due (so the driver can jump there), counts
 * every sleep (a sign of activity, for quiescence), and removes its abort listener when a sleeper wakes
 * normally, so an hour of ticks sleeping on one long-lived signal does not pile listeners onto it.
 */
export class SoakClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];
  private seq = 0;
  /** Sleeps started so far. */
  sleeps = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps++;
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      const sleeper: Sleeper = {
        at: this.time + Math.max(0, ms),
        seq: this.seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sleepers still waiting. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** When the earliest sleeper is due, or undefined when nobody sleeps. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const s of this.sleepers) if (next === undefined || s.at < next) next = s.at;
    return next;
  }

  /** Moves time to `to` (never backwards) and wakes every sleeper due by then, earliest first. */
  advanceTo(to: number): void {
    if (to > this.time) this.time = to;
    const due = this.sleepers.filter((s) => s.at <= this.time);
    if (due.length === 0) return;
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    due.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const s of due) s.wake();
  }
}
