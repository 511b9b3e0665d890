// The policies on a simulated cluster of nodes (issue 15 §3): microscaler with its pressure rules, HPA and
// KEDA with the cluster-autoscaler, a fixed fleet of the most nodes, and an oracle that boots nodes ahead.
import { fleetMicroscaler, microscalerPolicy } from './microscaler.js';
import type { NodePool } from './nodes.js';
import { ClusterAutoscaler } from './peers/cluster-autoscaler.js';
import { Hpa } from './peers/hpa.js';
import { Keda } from './peers/keda.js';
import { oracleOnNodes, oracleReach } from './peers/oracle.js';
import { clusterPolicy } from './peers/static-split.js';
import type { Policy, PolicyFactory, SimContext, SimService } from './setup.js';

const EPS = 1e-9;
const bounds = (s: { min: number; max: number }) => ({ min: s.min, max: s.max });

function poolOf(ctx: SimContext): NodePool {
  if (!ctx.nodes) throw new Error('this policy runs on a cluster of nodes (setup.nodes)');
  return ctx.nodes;
}

/** The cluster-autoscaler beside a peer: it sees the priority-1 pods the peer asks for and those placed. */
function caMachines(ctx: SimContext, cluster: { readonly wanted: Int32Array }) {
  const ca = new ClusterAutoscaler(poolOf(ctx));
  const p1 = ctx.setup.services.flatMap((s, i) => (s.priority === 1 ? [i] : []));
  return (now: number) => {
    let wanted = 0;
    let placed = 0;
    for (const i of p1) {
      wanted += cluster.wanted[i] as number;
      placed += ctx.store.active(i);
    }
    ca.step(now, { wanted, placed });
  };
}

/**
 * The oracle's nodes: every second it wants the nodes that the priority-1 replicas it will ask for within the
 * longest boot (and its replicas' own lead) need, the sum of each service's peak over that reach; it boots
 * what is missing and removes ready nodes beyond it at once.
 */
function oracleMachines(ctx: SimContext) {
  const nodes = poolOf(ctx);
  const { setup } = ctx;
  const every = Math.max(setup.stepMs, 1000 / nodes.setup.timeScale);
  const reach = nodes.longestBoot() + oracleReach(setup) + every;
  const p1 = setup.services.flatMap((s, i) => (s.priority === 1 ? [{ s, i }] : []));
  let next = 0;
  return (now: number) => {
    if (now < next) return;
    next = now + every;
    let need = 0;
    for (const { s, i } of p1) need += peakAhead(s, now, reach, ctx.work.backlog[i] as number);
    const want = Math.min(nodes.setup.max, Math.max(nodes.setup.min, Math.ceil(need / nodes.size - EPS)));
    const have = nodes.ready + nodes.bootingCount;
    if (want > have) nodes.add(want - have, now);
    else if (want < nodes.ready) nodes.remove(nodes.ready - want, now);
  };
}

/** The replicas service s needs for the highest arrival rate within `reach` from now, plus its backlog. */
function peakAhead(s: SimService, now: number, reach: number, backlog: number): number {
  const demand = s.demand;
  if (!demand || s.perReplicaRate <= 0) return s.min;
  let peak = 0;
  const last = demand.index(now + reach);
  for (let k = demand.index(now); k <= last && k < demand.intervals; k++)
    peak = Math.max(peak, demand.rateOf(k));
  const need = Math.ceil(peak / s.perReplicaRate + backlog / s.perReplicaRate - EPS);
  return Math.min(s.max, Math.max(s.min, need));
}

/** microscaler on the most nodes, all the time: the over-provisioned fleet. */
function fleetPolicy(ctx: SimContext): Policy {
  const nodes = poolOf(ctx);
  nodes.startWith(nodes.setup.max);
  return fleetMicroscaler(ctx);
}

/** Every policy `simulate --nodes` knows, by name, in the order reports list them. */
export const NODE_POLICIES: Readonly<Record<string, PolicyFactory>> = {
  microscaler: (ctx) => {
    poolOf(ctx);
    return microscalerPolicy(ctx);
  },
  'hpa+ca': clusterPolicy((s) => new Hpa(bounds(s)), caMachines),
  'keda+ca': clusterPolicy((s) => new Keda(bounds(s)), caMachines),
  fleet: fleetPolicy,
  oracle: oracleOnNodes(oracleMachines),
};

export const DEFAULT_NODE_POLICIES = Object.keys(NODE_POLICIES);

/**
 * The nodes a cluster starts with: what the priority-1 services need at their peak within the first `withinMs`
 * (the longest boot: a cluster that was sized for what came next), at least 1.
 */
export function nodesAtStart(services: readonly SimService[], size: number, withinMs: number): number {
  let need = 0;
  for (const s of services) if (s.priority === 1) need += peakAhead(s, 0, withinMs, 0);
  return Math.max(1, Math.ceil(need / size - EPS));
}
