// Services whose last scale call failed with a TerminalError (401, 403, 404, not labelled as ours): asking
// again cannot help until something changes, so they are held, not retried on a timer.
import type { Observed } from '../core/types.js';

interface Hold {
  /** The service's counts when the call failed. */
  readonly counts: string;
  /** The back-end object's version then, where the back-end reports one. */
  readonly revision: string | undefined;
}

export type HoldState = 'none' | 'held' | 'released';

export class TerminalHolds {
  private readonly holds = new Map<string, Hold>();

  hold(service: string, observed: Observed | undefined, revision: string | undefined): void {
    this.holds.set(service, { counts: countsOf(observed), revision });
  }

  /**
   * Whether the service is held. A hold whose object changed since (other counts observed, another
   * revision) is released: the change may be the fix (a label put back, a workload created).
   */
  check(service: string, observed: Observed | undefined, revision: string | undefined): HoldState {
    const h = this.holds.get(service);
    if (!h) return 'none';
    if (h.counts === countsOf(observed) && h.revision === revision) return 'held';
    this.holds.delete(service);
    return 'released';
  }

  /** Ends a hold (the service's settings changed, or the back-end reported a change); true if there was one. */
  release(service: string): boolean {
    return this.holds.delete(service);
  }

  has(service: string): boolean {
    return this.holds.has(service);
  }
}

function countsOf(o: Observed | undefined): string {
  if (!o) return '-';
  return `${o.running}/${o.starting}/${o.stopping}/${o.frozen ?? 0}/${o.warming ?? 0}`;
}
