import { errorMessage } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';
import type { Redactor } from '../infra/redact.js';
import { withTimeout } from './abortable.js';
import { CounterRate } from './counter-rate.js';

/** What one query of a server gives: the demand, and an arrival counter or a ready-made rate if asked for. */
export interface Sample {
  readonly value: number;
  /** A counter that only grows (messages ever added); turned into arrivals per second. */
  readonly counter?: number;
  /** Arrivals per second, when the server computes it (a PromQL rate()). */
  readonly rate?: number;
}

export interface GuardOptions {
  /** Says which server and object the source reads, without credentials: it prefixes every error. */
  readonly label: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly redactor: Redactor;
  /** The counter-to-rate window; unset when the source reports no rate. */
  readonly rateWindowMs?: number;
}

/**
 * The part every server-backed source shares: bounds a read by the controller's signal and the source's own
 * timeout, turns a thrown error into a failed result (never a value), prefixes it with what was read,
 * masks credentials, and turns a counter into a rate.
 */
export class GuardedRead {
  private readonly opts: GuardOptions;
  private readonly rate: CounterRate | undefined;
  private closed = false;

  constructor(options: GuardOptions) {
    this.opts = options;
    this.rate = options.rateWindowMs === undefined ? undefined : new CounterRate(options.rateWindowMs);
  }

  get label(): string {
    return this.opts.label;
  }

  close(): void {
    this.closed = true;
  }

  async run(signal: AbortSignal, query: (signal: AbortSignal) => Promise<Sample>): Promise<SourceResult> {
    const { clock, timeoutMs } = this.opts;
    if (this.closed) return this.fail('source is closed');
    const bounded = withTimeout(signal, timeoutMs);
    try {
      const sample = await query(bounded.signal);
      const at = clock.now();
      let rate = sample.rate;
      if (sample.counter !== undefined) rate = this.rate?.update(sample.counter, at);
      return { ok: true, reading: { value: sample.value, at, ...(rate === undefined ? {} : { rate }) } };
    } catch (error) {
      return this.fail(errorMessage(error));
    } finally {
      bounded.release();
    }
  }

  fail(message: string): SourceResult {
    return { ok: false, error: this.opts.redactor.redact(`${this.opts.label}: ${message}`) };
  }
}
