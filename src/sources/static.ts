import { z } from 'zod';
import type { Clock, Source } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';

export const staticSchema = z.strictObject({
  value: z.number().finite().min(0, 'must be ≥ 0'),
});
export type StaticSettings = z.output<typeof staticSchema>;

/** Always the same value: for tests, demos, and pinning a service's demand by hand. */
export class StaticSource implements Source {
  private readonly value: number;
  private readonly clock: Clock;

  constructor(settings: StaticSettings, clock: Clock) {
    this.value = settings.value;
    this.clock = clock;
  }

  async read(_signal?: AbortSignal): Promise<SourceResult> {
    return { ok: true, reading: { value: this.value, at: this.clock.now() } };
  }

  async close(): Promise<void> {}
}
