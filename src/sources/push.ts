import { z } from 'zod';
import type { Clock, Source } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';
import { durationSchema, formatDuration } from './duration.js';

export const pushSchema = z.strictObject({
  /** A pushed value older than this is an error, not a demand: the pusher has probably died. */
  maxAge: durationSchema({ positive: true }).default(60_000),
});
export type PushSettings = z.output<typeof pushSchema>;

/** Holds the last value pushed from outside (the HTTP API's POST /api/services/NAME/demand). */
export class PushSource implements Source {
  private readonly maxAgeMs: number;
  private readonly clock: Clock;
  private last: { value: number; at: number } | undefined;

  constructor(settings: PushSettings, clock: Clock) {
    this.maxAgeMs = settings.maxAge;
    this.clock = clock;
  }

  /** Records a new value; throws a RangeError for anything but a finite number ≥ 0. */
  push(value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`demand must be a finite number ≥ 0, got ${describe(value)}`);
    }
    this.last = { value, at: this.clock.now() };
  }

  async read(_signal?: AbortSignal): Promise<SourceResult> {
    const now = this.clock.now();
    if (!this.last) return { ok: false, error: 'no value pushed yet' };
    const age = now - this.last.at;
    if (age > this.maxAgeMs) {
      const seconds = Math.round(age / 100) / 10;
      return { ok: false, error: `last value is ${seconds}s old (maxAge ${formatDuration(this.maxAgeMs)})` };
    }
    return { ok: true, reading: { value: this.last.value, at: now } };
  }

  async close(): Promise<void> {}
}

/** Lets the API find the sources it may push to without knowing the other kinds. */
export function isPushSource(source: Source): source is PushSource {
  return source instanceof PushSource;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}
