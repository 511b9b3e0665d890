// Time to desired: how long each service takes from a change of its desired count to running exactly that
// (the `timeToDesired` histogram of /metrics), and the reason of that change until it is reached.
import { NONE_OBSERVED, type Observed, type Plan, type Reason } from '../core/types.js';
import type { ServiceMetrics } from './metrics.js';

/** The reason of a service's latest change of desired, and the count it asked for. */
export interface PendingReason {
  readonly desired: number;
  readonly reason: Reason;
}

export class TimeToDesired {
  /** Since when each service has not been running its desired count. */
  private readonly unsettled = new Map<string, number>();
  /**
   * The reason of each service's latest change of desired, until it runs that count: replicas started later
   * (capacity freed a few ticks on) are started for that reason, not for a replacement.
   */
  private readonly because = new Map<string, PendingReason>();
  /** Where each service's histogram lives. */
  private readonly metrics: ReadonlyMap<string, ServiceMetrics>;

  constructor(metrics: ReadonlyMap<string, ServiceMetrics>) {
    this.metrics = metrics;
  }

  /** The reasons of changes not reached yet, per service. */
  get pending(): ReadonlyMap<string, PendingReason> {
    return this.because;
  }

  /** A plan changed a service's desired count, for `reason`. */
  changed(service: string, desired: number, reason: Reason): void {
    this.because.set(service, { desired, reason });
  }

  /** Starts or stops each planned service's clock, as what is observed reaches its desired count or not. */
  track(plan: Plan | undefined, observed: ReadonlyMap<string, Observed>, now: number): void {
    if (!plan) return;
    for (const p of plan.services) {
      const o = observed.get(p.name) ?? NONE_OBSERVED;
      const settled = o.running === p.desired && o.starting === 0;
      const since = this.unsettled.get(p.name);
      if (!settled && since === undefined) this.unsettled.set(p.name, now);
      if (settled) this.because.delete(p.name);
      if (settled && since !== undefined) {
        this.unsettled.delete(p.name);
        this.metrics.get(p.name)?.timeToDesired.observe(Math.max(0, now - since) / 1000);
      }
    }
  }
}
