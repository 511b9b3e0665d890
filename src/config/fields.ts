// The config's field kinds, as zod schemas with one message for each way a value can be wrong: integers,
// numbers, durations, memory sizes, a source spec. schema.ts and capacity.ts build the file's parts from them.
import { z } from 'zod';
import { parseDuration, parseMemory } from '../core/units.js';
import { describe, expecting } from './problems.js';

/** Longest duration: timers (setTimeout) fire at once beyond 2^31-1 ms, about 596.5 hours. */
export const MAX_DURATION_MS = 596 * 3_600_000;

/** An integer ≥ min, with one message for every way it can be wrong. */
export function integer(min: number) {
  const error = expecting(`an integer ≥ ${min}`);
  return z.int({ error }).min(min, { error });
}

export function positive() {
  const error = expecting('a number > 0');
  return z.number({ error }).positive({ error });
}

export function nonNegative() {
  const error = expecting('a number ≥ 0');
  return z.number({ error }).nonnegative({ error });
}

export const text = () => z.string().min(1);

/** A duration (`100ms`, `2s`, `5m`) → milliseconds, at least minMs. */
export function duration(minMs = 0) {
  return z.unknown().transform((input, ctx): number => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', message, input });
      return z.NEVER;
    };
    if (input === undefined) return fail('required');
    const wanted = `must be a duration like 100ms, 2s or 5m, got ${describe(input)}`;
    if (typeof input !== 'string' && typeof input !== 'number') return fail(wanted);
    let ms: number;
    try {
      ms = parseDuration(input);
    } catch {
      return fail(typeof input === 'number' ? `needs a unit, like 100ms or 2s, got ${input}` : wanted);
    }
    if (ms < minMs) return fail(`must be at least ${minMs}ms, got ${describe(input)}`);
    if (ms > MAX_DURATION_MS) return fail(`must be at most 596h, got ${describe(input)}`);
    return ms;
  });
}

/** A memory size (`64Mi`, `2Gi`, `1G`, bytes) → bytes, more than zero (or zero too, when allowed). */
export function memory(allowZero = false) {
  return z.unknown().transform((input, ctx): number => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', message, input });
      return z.NEVER;
    };
    if (input === undefined) return fail('required');
    const wanted = `must be a memory size like 64Mi or 2Gi, got ${describe(input)}`;
    if (typeof input !== 'string' && typeof input !== 'number') return fail(wanted);
    let bytes: number;
    try {
      bytes = parseMemory(input);
    } catch {
      return fail(wanted);
    }
    return bytes > 0 || (allowZero && bytes === 0)
      ? bytes
      : fail(`must be more than 0 bytes, got ${describe(input)}`);
  });
}

/** `type` picks the source; its other settings are checked by the source registry, not here. */
export const sourceSchema = z.looseObject({ type: text() });
