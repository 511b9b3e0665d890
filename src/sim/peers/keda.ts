// KEDA ScaledObject, as in pkg/scaling/executor/scale_scaledobjects.go (RequestScale) and
// apis/keda/v1alpha1 defaults at kedacore/keda@8b4f083c; summarised in ../shared/research/peers.md §2.
import type { Autoscaler } from '../cluster.js';
import { Hpa } from './hpa.js';

export interface KedaOptions {
  readonly min: number;
  readonly max: number;
  readonly pollingMs?: number;
  readonly cooldownMs?: number;
}

/**
 * KEDA owns 0↔1 and hands 1↔N to the HPA it creates (minReplicas max(min, 1), an External AverageValue
 * metric). Every pollingInterval (30 s) the operator checks activity (value > activation 0): active at 0 →
 * 1; inactive for longer than cooldownPeriod (300 s) since the last active poll → minReplicaCount (0).
 */
export class Keda implements Autoscaler {
  private readonly hpa: Hpa;
  private readonly min: number;
  private readonly pollingMs: number;
  private readonly cooldownMs: number;
  private nextPoll = 0;
  private lastActive = Number.NEGATIVE_INFINITY;
  private spec: number;

  constructor(options: KedaOptions) {
    this.min = options.min;
    this.pollingMs = options.pollingMs ?? 30_000;
    this.cooldownMs = options.cooldownMs ?? 300_000;
    this.hpa = new Hpa({ min: Math.max(options.min, 1), max: options.max });
    this.spec = options.min;
  }

  step(now: number, load: number, ready: number, starting: number): number {
    if (now >= this.nextPoll) {
      this.nextPoll = now + this.pollingMs;
      if (load > 0) {
        if (this.spec === 0) this.spec = Math.max(this.min, 1);
        this.lastActive = now;
      } else if (this.spec > 0 && this.min === 0 && this.lastActive + this.cooldownMs < now) {
        this.spec = 0;
      }
    }
    this.hpa.spec = this.spec;
    this.spec = this.hpa.step(now, load, ready, starting);
    return this.spec;
  }
}
