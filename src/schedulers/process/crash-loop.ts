// Replicas that exit right after starting (a wrong command, a missing file, `command: ["true"]`): replaced at
// once, they would be restarted about a hundred times a second. Each such exit makes the service's next
// start wait, with the docker back-end's backoff (src/schedulers/docker/lifecycle.ts): 100 ms, doubling up to 10 s; a
// failure more than a minute after the last one starts a new series, and a replica that lasts ends it.
import type { Clock } from '../../core/ports.js';

/** A replica that exits sooner than this after its start counts as a failed start. */
export const CRASH_WINDOW_MS = 1000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;
const SERIES_MS = 60_000;

interface Failure {
  readonly count: number;
  readonly at: number;
  readonly retryAt: number;
  readonly error: string;
}

export class CrashLoops {
  private readonly failures = new Map<string, Failure>();

  constructor(private readonly clock: Clock) {}

  /** A replica exited on its own `ranMs` after it started: a failed start if that was soon. */
  exited(service: string, ranMs: number, error: string): void {
    if (ranMs >= CRASH_WINDOW_MS) {
      this.failures.delete(service);
      return;
    }
    const now = this.clock.now();
    const previous = this.failures.get(service);
    const count = previous && now - previous.at < SERIES_MS ? previous.count + 1 : 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (count - 1));
    this.failures.set(service, { count, at: now, retryAt: now + delay, error });
  }

  /** A replica lasted past the window: the service starts normally again. */
  lasted(service: string): void {
    this.failures.delete(service);
  }

  /** In a series of failed starts: a new replica is only `starting` until it has lasted the window. */
  failing(service: string): boolean {
    return this.failures.has(service);
  }

  /** Why no replica of the service may start now, or undefined when one may. */
  blocked(service: string): string | undefined {
    const failure = this.failures.get(service);
    const now = this.clock.now();
    if (!failure || now >= failure.retryAt) return undefined;
    return `${failure.error} (${failure.count} time(s) in a row; next attempt in ${Math.ceil(failure.retryAt - now)}ms)`;
  }
}
