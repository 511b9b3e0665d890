import type { Cluster } from '../cluster.js';
import { longest } from '../random.js';
import type { SimContext, SimService, SimSetup } from '../setup.js';
import { clusterPolicy } from './static-split.js';

const EPS = 1e-9;

/**
 * The limit: a policy that knows the future demand and the longest start-up and stop times. At every step it
 * asks, per service with demand, for the replicas the highest arrival rate of the next (stop + start-up) needs
 * (so a replica is ready, after evicting a batch replica, before its demand arrives), plus enough to drain any
 * backlog within a second, and lets capacity go as soon as the coming demand allows.
 */
const oracleScaler = (s: SimService, i: number, ctx: SimContext) => {
  const demand = s.demand;
  if (!demand || s.perReplicaRate <= 0) return undefined;
  const lead = oracleReach(ctx.setup);
  const rate = s.perReplicaRate;
  return {
    step(now: number) {
      let peak = 0;
      const last = demand.index(now + lead);
      for (let k = demand.index(now); k <= last && k < demand.intervals; k++) {
        peak = Math.max(peak, demand.rateOf(k));
      }
      const backlog = ctx.work.backlog[i] as number;
      const need = Math.ceil(peak / rate + backlog / rate - EPS);
      return Math.min(s.max, Math.max(s.min, need));
    },
  };
};

export const oraclePolicy = clusterPolicy(oracleScaler);

/** The oracle on a cluster of nodes, with what manages them. */
export const oracleOnNodes = (machines: (ctx: SimContext, cluster: Cluster) => (now: number) => void) =>
  clusterPolicy(oracleScaler, machines);

/** How far ahead the oracle's replicas look: the longest stop and start-up, and a step. */
export function oracleReach(setup: SimSetup): number {
  return longest(setup.startUp) + longest(setup.stop) + setup.stepMs;
}
