// Kubernetes Horizontal Pod Autoscaler, as in pkg/controller/podautoscaler/{horizontal.go,replica_calculator.go}
// (kubernetes main, mirror omerap12/kubernetes@a769d588) and the default `behavior` of
// pkg/apis/autoscaling/v2/defaults.go; summarised in ../shared/research/peers.md §1.
import type { Autoscaler } from '../cluster.js';

export interface HpaOptions {
  readonly min: number;
  readonly max: number;
  /** --horizontal-pod-autoscaler-sync-period. */
  readonly syncMs?: number;
  /** --horizontal-pod-autoscaler-tolerance. */
  readonly tolerance?: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization. */
  readonly downWindowMs?: number;
}

const EPS = 1e-9;
const ceil = (x: number) => Math.max(0, Math.ceil(x - EPS));

/**
 * One HPA with an External metric and an AverageValue target of one replica's worth of work (what KEDA
 * creates): the metric is the load in replicas' worth. Every sync (15 s): outside the 0.1 tolerance the
 * proposal is ceil(load); scale-down takes the largest recommendation of the last 300 s; scale-up is limited
 * by the default policies, 4 pods or 100 % per 15 s, whichever allows more. `spec` is the Deployment's
 * replicas; 0 disables scaling (HPAScaleToZero off), which is how KEDA parks it.
 */
export class Hpa implements Autoscaler {
  spec: number;
  private readonly opts: Required<HpaOptions>;
  private nextSync = 0;
  private readonly recommendations: { t: number; r: number }[] = [];
  private readonly events: { t: number; delta: number }[] = [];

  constructor(options: HpaOptions) {
    // minReplicas is at least 1: scaling to zero needs the HPAScaleToZero gate, off by default until v1.37.
    const min = Math.max(options.min, 1);
    this.opts = { syncMs: 15_000, tolerance: 0.1, downWindowMs: 300_000, ...options, min };
    this.spec = min;
  }

  step(now: number, load: number, ready: number, starting: number): number {
    if (now >= this.nextSync) {
      this.nextSync = now + this.opts.syncMs;
      this.spec = this.sync(now, load, ready + starting);
    }
    return this.spec;
  }

  /** reconcileAutoscaler: one sync. `pods` is status.replicas (pods that exist). */
  sync(now: number, load: number, pods: number): number {
    const cur = this.spec;
    const { min, max, tolerance } = this.opts;
    if (cur === 0) return 0;
    let desired: number;
    if (cur > max) desired = max;
    else if (cur < min) desired = min;
    else {
      // GetExternalPerPodMetricReplicas: usage ratio against the pods that exist.
      const ratio = pods === 0 ? Number.POSITIVE_INFINITY : load / pods;
      const proposal = Math.abs(ratio - 1) <= tolerance ? pods : ceil(load);
      desired = this.normalize(now, proposal, cur);
    }
    if (desired !== cur) this.events.push({ t: now, delta: desired - cur });
    return desired;
  }

  /** stabilizeRecommendationWithBehaviors + convertDesiredReplicasWithBehaviorRate, default behavior. */
  private normalize(now: number, proposal: number, cur: number): number {
    const { min, max, downWindowMs } = this.opts;
    const period = 15_000;
    this.recommendations.push({ t: now, r: proposal });
    while ((this.recommendations[0]?.t ?? now) <= now - downWindowMs) this.recommendations.shift();
    while ((this.events[0]?.t ?? now) <= now - period) this.events.shift();
    // Scale-up stabilisation window is 0 s: only this recommendation counts.
    const upRec = proposal;
    let downRec = proposal;
    for (const rec of this.recommendations) if (rec.r > downRec) downRec = rec.r;
    let r = cur;
    if (r < upRec) r = upRec;
    if (r > downRec) r = downRec;
    // Replicas at the start of the period: events strictly within the last 15 s are undone.
    let start = cur;
    for (const e of this.events) if (e.t > now - period) start -= e.delta;
    if (r > cur) {
      const limit = Math.max(cur, start + 4, Math.ceil(start * 2));
      r = Math.min(r, max, limit);
    } else if (r < cur) {
      // Percent 100 per 15 s: no limit on how far down.
      const limit = Math.min(cur, Math.trunc(start * 0));
      r = Math.max(r, min, limit);
    }
    return r;
  }
}
