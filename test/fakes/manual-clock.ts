import type { Clock } from '../../src/core/ports.js';

/**
 * A clock that moves only when told: sleepers wake in time order as advance() passes their deadline.
 * wall() is the wall clock (what people read): it moves with now() and also jumps alone (jumpWall), as
 * Date.now() does when the system time is set. jump() makes now() itself jump, for a Clock that breaks the
 * contract (now() must not jump); sleepers keep the time they had left, as real timers do.
 */
export class ManualClock implements Clock {
  private t: number;
  private wallOffset = 0;
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  wall(): number {
    return this.t + this.wallOffset;
  }

  /** The wall clock jumps by ms (negative: back); now() does not. */
  jumpWall(ms: number): void {
    this.wallOffset += ms;
  }

  /** now() (and wall()) jump by ms; sleepers keep their remaining time; nobody wakes. */
  jump(ms: number): void {
    this.t += ms;
    for (const s of this.sleepers) s.at += ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const entry = { at: this.t + ms, wake: resolve };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        resolve();
      });
    });
  }

  /** Moves time forward, waking each sleeper due on the way and letting its continuation run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.wake();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** Lets pending promise continuations run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
