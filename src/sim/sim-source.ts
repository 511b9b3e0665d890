import type { Source } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';
import type { SimContext, SimService } from './setup.js';

/**
 * A replayed trace as the controller reads it. For a `queue` rule the value is the simulated backlog (what a
 * queue-length source reads) and the rate the arrival rate; otherwise the value is the current interval's
 * demand, as src/sources/trace.ts reads it.
 */
export class SimSource implements Source {
  private readonly ctx: SimContext;
  private readonly i: number;
  private readonly now: () => number;

  constructor(ctx: SimContext, i: number, now: () => number) {
    this.ctx = ctx;
    this.i = i;
    this.now = now;
  }

  read(_signal?: AbortSignal): Promise<SourceResult> {
    return Promise.resolve(this.readAt(this.now()));
  }

  readAt(now: number): SourceResult {
    const s = this.ctx.setup.services[this.i] as SimService;
    const demand = s.demand;
    if (!demand) return { ok: false, error: 'no demand' };
    const value = s.rule.type === 'queue' ? (this.ctx.work.backlog[this.i] as number) : demand.value(now);
    return { ok: true, reading: { value, rate: demand.rate(now), at: now } };
  }

  async close(): Promise<void> {}
}
