import { type Autoscaler, Cluster } from '../cluster.js';
import type { Policy, SimContext, SimService } from '../setup.js';
import { load } from '../setup.js';

const EPS = 1e-9;

/** The replicas a service needs at the peak of its trace: ceil(peak arrival rate / per-replica rate). */
export function peakNeed(s: SimService): number {
  if (!s.demand || s.perReplicaRate <= 0) return s.min;
  return Math.min(s.max, Math.max(s.min, Math.ceil(s.demand.peakRate() / s.perReplicaRate - EPS)));
}

/**
 * Runs one autoscaler per service with demand on a priority-aware cluster (cluster.ts); services without
 * demand ask for their max (remainder) or their fixed count. This is how every peer, the static split and the
 * oracle are run: they know no priorities, the cluster does.
 */
export function clusterPolicy(
  make: (s: SimService, i: number, ctx: SimContext) => Autoscaler | undefined,
  /** On a cluster of nodes: what manages them, called after every placement. */
  machines?: (ctx: SimContext, cluster: Cluster) => (now: number) => void,
) {
  return (ctx: SimContext): Policy => {
    const { setup, store, nodes } = ctx;
    const cluster = new Cluster(store, setup.services, nodes ? () => nodes.capacity() : setup.capacity);
    const manage = machines?.(ctx, cluster);
    const scalers = setup.services.map((s, i) => (s.demand ? make(s, i, ctx) : undefined));
    setup.services.forEach((s, i) => {
      if (scalers[i]) return;
      cluster.want(i, s.rule.type === 'fixed' ? s.rule.replicas : s.max);
    });
    return {
      step(now) {
        for (let i = 0; i < scalers.length; i++) {
          const a = scalers[i];
          if (!a) continue;
          const starting = store.startingCount(i);
          cluster.want(i, a.step(now, load(ctx, i, now), store.ready[i] as number, starting));
        }
        cluster.place(now);
        manage?.(now);
      },
    };
  };
}

/** Each service with demand fixed at its peak need; the rest of the capacity to the others. */
export const staticPolicy = clusterPolicy((s) => {
  const n = peakNeed(s);
  return { step: () => n };
});
