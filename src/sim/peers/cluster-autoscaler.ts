// The Kubernetes cluster-autoscaler, as its FAQ (kubernetes/autoscaler cluster-autoscaler/FAQ.md: "How does
// scale-up work?", "How does scale-down work?", "What are the parameters to CA?") describes it, with its
// defaults: a scan every 10 s, scale-up for unschedulable pods, scale-down of a node whose pods' requests are
// under 50 % of it for 10 min, not within 10 min of a scale-up; empty nodes up to 10 at once, non-empty one
// at a time.
import type { NodePool } from '../nodes.js';

export interface CaOptions {
  /** --scan-interval. */
  readonly scanMs?: number;
  /** --scale-down-utilization-threshold. */
  readonly threshold?: number;
  /** --scale-down-unneeded-time. */
  readonly unneededMs?: number;
  /** --scale-down-delay-after-add. */
  readonly delayAfterAddMs?: number;
  /** --max-empty-bulk-delete. */
  readonly maxEmptyBulkDelete?: number;
}

/** What the cluster-autoscaler sees of the pods at a scan: only pods above the expendable cutoff. */
export interface CaView {
  /** Pods the workload asks for (the Deployments' replicas). */
  readonly wanted: number;
  /** Pods that exist on nodes (starting or ready). */
  readonly placed: number;
}

/**
 * The batch (priority 2 and lower) pods run below the expendable-pods priority cutoff (-10), the FAQ's
 * overprovisioning setup: they trigger no scale-up and do not keep a node (the autoscaler removes them from
 * its snapshot), so only priority-1 pods count here. Pods are spread evenly over the nodes (the scheduler's
 * default LeastAllocated scoring), so a node holds placed / ready of them and ready − placed nodes are empty.
 */
export class ClusterAutoscaler {
  private readonly opts: Required<CaOptions>;
  private nextScan = 0;
  private lastAdd = Number.NEGATIVE_INFINITY;
  /** Since when the nodes have been unneeded (undefined: they are not). */
  private unneededSince: number | undefined;

  constructor(
    private readonly nodes: NodePool,
    options: CaOptions = {},
  ) {
    const scale = nodes.setup.timeScale;
    this.opts = {
      scanMs: 10_000 / scale,
      threshold: 0.5,
      unneededMs: 600_000 / scale,
      delayAfterAddMs: 600_000 / scale,
      maxEmptyBulkDelete: 10,
      ...options,
    };
  }

  /** Called at every step; scans on its own schedule. */
  step(now: number, view: CaView): void {
    if (now < this.nextScan) return;
    this.nextScan = now + this.opts.scanMs;
    const { nodes } = this;
    const size = nodes.size;
    // Scale-up: pods that fit nowhere, less what the nodes already booting will take (upcoming nodes).
    const unschedulable = view.wanted - nodes.capacity() - nodes.bootingCount * size;
    if (unschedulable > 0) {
      if (nodes.add(Math.ceil(unschedulable / size), now) > 0) this.lastAdd = now;
      this.unneededSince = undefined;
      return;
    }
    // Scale-down: a node is unneeded when its pods' requests are under the threshold and they fit elsewhere.
    const ready = nodes.ready;
    const unneeded =
      ready > nodes.setup.min &&
      view.placed < this.opts.threshold * ready * size &&
      view.placed <= (ready - 1) * size;
    if (!unneeded) {
      this.unneededSince = undefined;
      return;
    }
    this.unneededSince ??= now;
    if (now - this.unneededSince < this.opts.unneededMs || now - this.lastAdd < this.opts.delayAfterAddMs) {
      return;
    }
    const empty = Math.max(0, ready - view.placed);
    nodes.remove(empty > 0 ? Math.min(empty, this.opts.maxEmptyBulkDelete) : 1, now);
  }
}
