import { z } from 'zod';
import type { Clock, Source } from '../core/ports.js';
import { mulberry32 } from '../core/random.js';
import type { SourceResult } from '../core/types.js';
import { durationSchema } from './duration.js';

const int = () => z.number().int('must be an integer');

export const randomSchema = z
  .strictObject({
    seed: int().default(1),
    // A demand is never negative: the controller refuses such a reading, so a walk below 0 would fail reads.
    min: int().min(0, 'must be ≥ 0 (a demand is never negative)').default(0),
    max: int().default(100),
    /** The largest change in one move. */
    step: int().min(0, 'must be ≥ 0').default(10),
    /** How often the value moves. */
    every: durationSchema({ positive: true }).default(3000),
    /** The value before the first move; default midway between min and max (rounded down). */
    start: int().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.max < s.min) ctx.addIssue({ code: 'custom', path: ['max'], message: `must be ≥ min (${s.min})` });
    else if (s.start !== undefined && (s.start < s.min || s.start > s.max)) {
      ctx.addIssue({
        code: 'custom',
        path: ['start'],
        message: `must be between min (${s.min}) and max (${s.max})`,
      });
    }
  });
export type RandomSettings = z.output<typeof randomSchema>;

export { mulberry32 };

type WalkSettings = Pick<RandomSettings, 'seed' | 'min' | 'max' | 'step' | 'start'>;

/** The walk's state after some number of moves; advancing it is the only way it changes. */
class Walk {
  private readonly next: () => number;
  private readonly s: WalkSettings;
  value: number;
  moves = 0;

  constructor(s: WalkSettings) {
    this.s = s;
    this.next = mulberry32(s.seed);
    this.value = s.start ?? Math.floor((s.min + s.max) / 2);
  }

  advanceTo(moves: number): void {
    const { min, max, step } = this.s;
    for (; this.moves < moves; this.moves++) {
      const delta = Math.floor(this.next() * (2 * step + 1)) - step; // uniform integer in [-step, step]
      this.value = Math.min(max, Math.max(min, this.value + delta));
    }
  }
}

/** The walk's value after `moves` moves: a pure function of the settings, what RandomSource reports. */
export function randomWalk(settings: WalkSettings, moves: number): number {
  const walk = new Walk(settings);
  walk.advanceTo(moves);
  return walk.value;
}

/**
 * A seeded random walk (as in the Force12 v0 demo): the value moves by a random integer in [-step, step]
 * every `every` ms since the source was created, clamped to [min, max]. Moves are computed lazily on read,
 * so the value depends only on the seed and the clock, not on how often it is read.
 */
export class RandomSource implements Source {
  private readonly settings: RandomSettings;
  private readonly clock: Clock;
  private readonly createdAt: number;
  private walk: Walk;

  constructor(settings: RandomSettings, clock: Clock) {
    this.settings = settings;
    this.clock = clock;
    this.createdAt = clock.now();
    this.walk = new Walk(settings);
  }

  async read(_signal?: AbortSignal): Promise<SourceResult> {
    const now = this.clock.now();
    const moves = Math.max(0, Math.floor((now - this.createdAt) / this.settings.every));
    if (moves < this.walk.moves) this.walk = new Walk(this.settings); // the clock went back: replay
    this.walk.advanceTo(moves);
    return { ok: true, reading: { value: this.walk.value, at: now } };
  }

  async close(): Promise<void> {}
}
