// A demand set by hand (POST /api/services/NAME/demand, the dashboard's slider) that stands in for a
// service's own source for a while, after which the source's signal returns. The demo uses it so that
// people can move priority-1 demand and watch priority 2 give way.
import type { Clock, Source } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';

export const DEFAULT_OVERRIDE_MS = 30_000;

export class OverridableSource implements Source {
  private readonly inner: Source;
  private readonly clock: Clock;
  private readonly holdMs: number;
  private override: { value: number; until: number } | undefined;

  constructor(inner: Source, clock: Clock, holdMs = DEFAULT_OVERRIDE_MS) {
    if (!Number.isFinite(holdMs) || holdMs <= 0) throw new RangeError('holdMs must be a positive number');
    this.inner = inner;
    this.clock = clock;
    this.holdMs = holdMs;
  }

  /** Makes reads answer `value` for the next holdMs; throws a RangeError for anything but a finite number ≥ 0. */
  set(value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`demand must be a finite number ≥ 0, got ${String(value)}`);
    }
    this.override = { value, until: this.clock.now() + this.holdMs };
  }

  /** The value set by hand and until when (clock ms) it holds, while it does. */
  current(): { value: number; until: number } | undefined {
    const o = this.override;
    return o && this.clock.now() < o.until ? o : undefined;
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const o = this.current();
    if (o) return Promise.resolve({ ok: true, reading: { value: o.value, at: this.clock.now() } });
    this.override = undefined;
    return this.inner.read(signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
