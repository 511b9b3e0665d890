import { errorMessage } from '../../src/core/errors.js';
import type { Source } from '../../src/core/ports.js';
import type { SourceResult } from '../../src/core/types.js';
import { demandValue } from '../../src/sources/demand-value.js';
import type { SoakClock } from './clock.js';

/** How a source behaves for a while. */
export type SourceMode =
  /** Answers with the demand, at once or within SLOWEST_READ_MS. */
  | 'ok'
  /** Answers with a huge but valid value (a queue that exploded): the service goes to its max. */
  | 'huge'
  /** Answers with an error at once. */
  | 'error'
  /** read() rejects (a bug in a source must not break the tick). */
  | 'throw'
  /** Answers only well after readTimeout (2.5–5.5 s), unless aborted first. */
  | 'slow'
  /** Never answers until aborted. */
  | 'hang'
  /** Ignores the abort and answers 5–20 s later: the late answer must be ignored. */
  | 'deaf'
  /** The server sends garbage (NaN, negative, strings, objects), through the adapters' own check. */
  | 'nonsense'
  /** The server is down: each read is refused at once or hangs until aborted. */
  | 'down';

/** Modes in which every read fails. */
export const FAILING: ReadonlySet<SourceMode> = new Set([
  'error',
  'throw',
  'slow',
  'hang',
  'deaf',
  'nonsense',
  'down',
]);

/** A healthy read answers within this (most at once). */
export const SLOWEST_READ_MS = 300;

const GARBAGE: readonly unknown[] = [
  Number.NaN,
  'NaN',
  -3,
  '-1',
  Number.POSITIVE_INFINITY,
  '1e400',
  {},
  null,
  'twelve',
  [],
  undefined,
];

export interface SoakSourceOptions {
  readonly clock: SoakClock;
  readonly random: () => number;
  readonly readTimeoutMs: number;
  /** The demand's range; the walk stays inside it. */
  readonly max: number;
  /** Also give an arrival rate (for the queue rule), up to this. */
  readonly maxRate?: number;
}

/**
 * A demand source of the soak: a seeded random walk with jumps, and, when the driver says so, every way a
 * real source fails. The walk moves once per read; `steady` pins it (the baseline and the calm at the end).
 */
export class SoakSource implements Source {
  private readonly opts: SoakSourceOptions;
  private value: number;
  private rate: number;
  mode: SourceMode = 'ok';
  steady = false;
  /** Reads started and answered (a sign of activity, for quiescence). */
  activity = 0;
  reads = 0;

  constructor(options: SoakSourceOptions) {
    this.opts = options;
    this.value = options.random() * options.max;
    this.rate = options.maxRate === undefined ? 0 : options.random() * options.maxRate;
  }

  async read(signal: AbortSignal): Promise<SourceResult> {
    this.activity++;
    this.reads++;
    try {
      return await this.answer(signal);
    } finally {
      this.activity++;
    }
  }

  async close(): Promise<void> {}

  private async answer(signal: AbortSignal): Promise<SourceResult> {
    const { clock, random, readTimeoutMs } = this.opts;
    const aborted: SourceResult = { ok: false, error: 'aborted' };
    switch (this.mode) {
      case 'ok': {
        const reading = this.walk();
        if (random() < 0.3) await clock.sleep(Math.floor(random() * SLOWEST_READ_MS), signal);
        return signal.aborted ? aborted : reading;
      }
      case 'huge':
        return {
          ok: true,
          reading: { value: 1e12, rate: this.opts.maxRate ? 1e9 : undefined, at: clock.now() },
        };
      case 'error':
        return { ok: false, error: 'server said no (soak fault)' };
      case 'throw':
        throw new Error('connection reset (soak fault)');
      case 'slow': {
        // Longer than readTimeout plus the longest tick (the controller gives a read up at a tick's start).
        await clock.sleep(2 * readTimeoutMs + 500 + Math.floor(random() * 3000), signal);
        return signal.aborted ? aborted : this.walk();
      }
      case 'hang':
        return this.hang(signal);
      case 'deaf': {
        await clock.sleep(5000 + Math.floor(random() * 15_000));
        return this.walk();
      }
      case 'nonsense': {
        const raw = GARBAGE[Math.floor(random() * GARBAGE.length)];
        try {
          // What every adapter does with a server's answer.
          return { ok: true, reading: { value: demandValue(raw, 'the reply'), at: clock.now() } };
        } catch (error) {
          return { ok: false, error: errorMessage(error) };
        }
      }
      case 'down':
        if (random() < 0.5) return { ok: false, error: 'connection refused (soak fault)' };
        return this.hang(signal);
    }
  }

  private hang(signal: AbortSignal): Promise<SourceResult> {
    return new Promise((resolve) => {
      if (signal.aborted) resolve({ ok: false, error: 'aborted' });
      else signal.addEventListener('abort', () => resolve({ ok: false, error: 'aborted' }), { once: true });
    });
  }

  /** One step of the walk: small moves, now and then a jump anywhere in the range. */
  private walk(): SourceResult {
    const { random, max, maxRate } = this.opts;
    if (!this.steady) {
      if (random() < 0.01) this.value = random() * max;
      else this.value = Math.min(max, Math.max(0, this.value + (random() - 0.5) * max * 0.04));
      if (maxRate !== undefined) {
        if (random() < 0.01) this.rate = random() * maxRate;
        else this.rate = Math.min(maxRate, Math.max(0, this.rate + (random() - 0.5) * maxRate * 0.04));
      }
    }
    const at = this.opts.clock.now();
    return {
      ok: true,
      reading: maxRate === undefined ? { value: this.value, at } : { value: this.value, rate: this.rate, at },
    };
  }
}
