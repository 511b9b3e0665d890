// The observer: asks the back-end what runs, bounded by a timeout; after a TerminalError it is not asked every
// tick (a backoff); a failure is the `scheduler` problem, reported once until the back-end answers again.
import { errorMessage, TerminalError } from '../core/errors.js';
import type { Clock, Scheduler } from '../core/ports.js';
import type { Observed } from '../core/types.js';
import { Backoff } from './backoff.js';
import type { Reporter } from './reporter.js';
import { within } from './within.js';

export interface ObserverOptions {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly reporter: Reporter;
  /** How long one observe() may take before it counts as failed. */
  readonly timeoutMs: number;
  /** Ends a call in progress when the loop stops. */
  readonly signal: AbortSignal;
}

export class Observer {
  private readonly opts: ObserverOptions;
  private seen: ReadonlyMap<string, Observed> = new Map();
  private failures = 0;
  /** Set while observe() is not asked again after a TerminalError: until when. */
  private heldUntil: number | undefined;
  private readonly backoff = new Backoff(1000, 60_000);

  constructor(options: ObserverOptions) {
    this.opts = options;
  }

  /** What the back-end last reported (empty before its first answer). */
  get latest(): ReadonlyMap<string, Observed> {
    return this.seen;
  }

  /** Observes that failed or had no answer in time, for /metrics. */
  get errors(): number {
    return this.failures;
  }

  /** The back-end's answer, or undefined when it failed, did not answer in time, or is not asked now. */
  async observe(): Promise<ReadonlyMap<string, Observed> | undefined> {
    const { clock, scheduler, reporter, timeoutMs } = this.opts;
    // A back-end that answered with a TerminalError (credentials refused, say) is not asked every tick.
    if (this.heldUntil !== undefined && clock.now() < this.heldUntil) return undefined;
    try {
      // Back-ends bound their own calls; the signal only ends them when the loop stops. The wait ends after
      // timeoutMs in any case (a hung back-end must not freeze the loop).
      const seen = await within(clock, scheduler.observe(this.opts.signal), timeoutMs);
      if (!seen) {
        this.failures++;
        reporter.problem('scheduler', undefined, `cannot observe replicas: no answer within ${timeoutMs}ms`);
        return undefined;
      }
      this.seen = seen.value;
      this.heldUntil = undefined;
      this.backoff.reset();
      reporter.clearProblem('scheduler', undefined, 'the back-end answers again');
      return seen.value;
    } catch (error) {
      this.failures++;
      if (error instanceof TerminalError) {
        const delay = this.backoff.fail(clock.now());
        this.heldUntil = clock.now() + delay;
        reporter.problem(
          'scheduler',
          undefined,
          `cannot observe replicas: ${errorMessage(error)} (not asked every tick meanwhile: again after 1s, doubling up to 60s)`,
        );
        return undefined;
      }
      reporter.problem('scheduler', undefined, `cannot observe replicas: ${errorMessage(error)}`);
      return undefined;
    }
  }
}
