import { z } from 'zod';
import { parseDuration as parseConfigDuration } from '../core/units.js';

/**
 * Milliseconds from a duration as the config file gives it: a string in the config's own grammar (`100ms`,
 * `3s`, `1.5m`, `1m30s`, `2h`: core/units.ts), or, in a source's settings, a plain number of milliseconds.
 * Throws a RangeError with a readable message otherwise.
 */
export function parseDuration(input: unknown): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0)
      throw new RangeError(`invalid duration ${input} (ms must be ≥ 0)`);
    return input;
  }
  if (typeof input === 'string') {
    try {
      return parseConfigDuration(input);
    } catch {
      // the config's grammar, but a message that says a source also takes a number of ms
    }
  }
  throw new RangeError(
    `invalid duration ${JSON.stringify(input)} (use e.g. 100ms, 3s, 5m, or a number of ms)`,
  );
}

/** The shortest exact form of a duration in ms: 60000 → `1m`, 1500 → `1.5s`, 250 → `250ms`. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * A zod schema for a duration setting: accepts what parseDuration accepts and outputs ms, so parsing
 * an already-parsed value again gives the same result.
 */
export function durationSchema(options: { positive?: boolean } = {}) {
  return z.unknown().transform((input, ctx) => {
    try {
      const ms = parseDuration(input);
      if (options.positive && ms <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be longer than 0' });
        return z.NEVER;
      }
      return ms;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}
