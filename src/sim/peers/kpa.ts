// Knative Serving KPA, as in pkg/autoscaler/scaling/autoscaler.go (Scale), pkg/autoscaler/config/config.go
// and pkg/reconciler/autoscaling/kpa/scaler.go at knative/serving@98e5ef90; ../shared/research/peers.md §3.
import type { Autoscaler } from '../cluster.js';

export interface KpaOptions {
  readonly min: number;
  readonly max: number;
  readonly tickMs?: number;
  readonly stableWindowMs?: number;
  readonly panicWindowMs?: number;
  /** panic-threshold-percentage / 100. */
  readonly panicThreshold?: number;
  /** container-concurrency-target-percentage / 100. */
  readonly targetUtilisation?: number;
  readonly maxScaleUpRate?: number;
  readonly maxScaleDownRate?: number;
  readonly scaleToZeroGraceMs?: number;
}

const EPS = 1e-9;
const ceil = (x: number) => Math.max(0, Math.ceil(x - EPS));

/**
 * The KPA decider. The metric (concurrency, in replicas' worth of work) is scraped into 1 s buckets; every
 * 2 s the decider averages them over the stable (60 s) and panic (6 s) windows, targets 70 % per pod, never
 * scales down by more than half per tick, and panics when the panic window asks for twice the ready pods:
 * then it only scales up, until 60 s without that. Going to zero needs 30 s of zero and a minute since
 * activation; a request at zero pokes the decider at once (the activator).
 */
export class Kpa implements Autoscaler {
  private readonly o: Required<KpaOptions>;
  private readonly buckets: Float64Array;
  private seen = 0;
  private nextScrape = 0;
  private nextTick = 0;
  private panicTime: number | undefined;
  private maxPanicPods = 0;
  private zeroSince: number | undefined;
  private activeSince = 0;
  spec: number;

  constructor(options: KpaOptions) {
    this.o = {
      tickMs: 2000,
      stableWindowMs: 60_000,
      panicWindowMs: 6000,
      panicThreshold: 2,
      targetUtilisation: 0.7,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      scaleToZeroGraceMs: 30_000,
      ...options,
    };
    this.buckets = new Float64Array(Math.round(this.o.stableWindowMs / 1000));
    // initial-scale 1.
    this.spec = Math.min(Math.max(1, options.min), options.max);
  }

  step(now: number, load: number, ready: number, _starting: number): number {
    if (now >= this.nextScrape) {
      this.nextScrape = now + 1000;
      this.buckets[this.seen % this.buckets.length] = load;
      this.seen++;
    }
    const poke = this.spec === 0 && load > 0;
    if (now >= this.nextTick || poke) {
      if (now >= this.nextTick) this.nextTick = now + this.o.tickMs;
      this.spec = this.decide(now, ready);
    }
    return this.spec;
  }

  /** Linear average over the newest `ms` of buckets, divided by the buckets seen (at most the window). */
  private average(ms: number): number {
    const n = Math.min(this.seen, Math.round(ms / 1000));
    if (n === 0) return 0;
    let sum = 0;
    for (let k = 1; k <= n; k++) sum += this.buckets[(this.seen - k) % this.buckets.length] as number;
    return sum / n;
  }

  decide(now: number, readyPods: number): number {
    const o = this.o;
    const ready = Math.max(1, readyPods);
    const stable = this.average(o.stableWindowMs);
    const panic = this.average(o.panicWindowMs);
    const maxUp = Math.ceil(o.maxScaleUpRate * ready);
    const maxDown = Math.floor(ready / o.maxScaleDownRate);
    const dspc = ceil(stable / o.targetUtilisation);
    const dppc = ceil(panic / o.targetUtilisation);
    const desiredStable = Math.min(Math.max(dspc, maxDown), maxUp);
    const desiredPanic = Math.min(Math.max(dppc, maxDown), maxUp);
    if (dppc / ready >= o.panicThreshold) this.panicTime = now;
    else if (this.panicTime !== undefined && this.panicTime + o.stableWindowMs <= now) {
      this.panicTime = undefined;
      this.maxPanicPods = 0;
    }
    let desired: number;
    if (this.panicTime !== undefined) {
      this.maxPanicPods = Math.max(this.maxPanicPods, desiredStable, desiredPanic);
      desired = this.maxPanicPods;
    } else desired = desiredStable;
    desired = Math.min(Math.max(desired, o.min), o.max);

    // The reconciler's scale-to-zero gate.
    if (desired === 0) {
      this.zeroSince ??= now;
      const graceOver = now - this.zeroSince >= o.scaleToZeroGraceMs;
      const activeLongEnough = now - this.activeSince >= o.stableWindowMs;
      if (this.spec > 0 && !(graceOver && activeLongEnough)) desired = 1;
    } else {
      this.zeroSince = undefined;
      if (this.spec === 0) this.activeSince = now;
    }
    return desired;
  }
}
