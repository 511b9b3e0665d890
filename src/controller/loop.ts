// The tick loop: one tick every interval, never two at once, and sooner when nudged (a value was pushed),
// but never more than one every NUDGE_GAP_MS however many pushes come.
import type { Clock } from '../core/ports.js';

/** The shortest time between the starts of two ticks when pushes cut the interval short. */
export const NUDGE_GAP_MS = 10;

export interface TickLoopOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Ends the sleeps when the loop stops. */
  readonly signal: AbortSignal;
  readonly stopped: () => boolean;
  readonly tick: () => Promise<unknown>;
  /** A tick threw: a bug, not a fault of a source or back-end (those are handled where they happen). */
  readonly failed: (error: unknown) => void;
}

export class TickLoop {
  private readonly opts: TickLoopOptions;
  /** Ends the current sleep early (nudge); undefined while no sleep runs. */
  private wake: (() => void) | undefined;
  private nudged = false;

  constructor(options: TickLoopOptions) {
    this.opts = options;
  }

  /** Ticks until stopped; resolves then. */
  async run(): Promise<void> {
    const { clock, intervalMs, signal } = this.opts;
    while (!this.opts.stopped()) {
      const started = clock.now();
      try {
        await this.opts.tick();
      } catch (error) {
        // Keep going: one bad tick must not end the loop.
        this.opts.failed(error);
      }
      // Clamped both ways: a clock that went back (it should not, see Clock.now) must not make this sleep
      // for as long as it went back.
      const rest = intervalMs - (clock.now() - started);
      if (!this.nudged) {
        // One promise per sleep, settled by the sleep or by nudge(): never a long-lived promise raced every
        // tick, whose reactions would pile up while no nudge comes (the soak found 2 kept per tick). The
        // timer of a sleep cut short lapses on its own (no abort: that costs more per tick).
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void clock.sleep(Math.min(intervalMs, Math.max(0, rest)), signal).then(resolve);
        });
        this.wake = undefined;
      }
      if (this.nudged) {
        this.nudged = false;
        // A storm of pushes must not become a storm of ticks: at most one every NUDGE_GAP_MS.
        const gap = Math.min(intervalMs, NUDGE_GAP_MS) - (clock.now() - started);
        if (gap > 0) await clock.sleep(gap, signal);
      }
    }
  }

  /**
   * Runs the next tick now rather than at the end of the interval. Ticks never overlap; a nudge during a
   * tick makes the next one start as soon as it ends.
   */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }
}
