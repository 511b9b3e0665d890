// microscaler's pressure rules on a simulated cluster of nodes (issue 15 §2 and §3): every tick's plan gives
// the unmet need and the idle capacity (planner/pressure.ts), each sustained over its window, and the
// AutoscaleDecider (planner/autoscale.ts) turns them into requests for nodes, or gives whole ones back.
import type { Capacity, Plan } from '../core/types.js';
import { AutoscaleDecider } from '../planner/autoscale.js';
import { type PressureService, pressure, Sustained } from '../planner/pressure.js';
import type { NodePool } from './nodes.js';
import type { SimService } from './setup.js';

export interface PressureSettings {
  /** Unmet need must last this long before nodes are asked for. */
  readonly scaleOutAfterMs: number;
  /** Idle capacity must last this long before whole nodes are given back. */
  readonly scaleInAfterMs: number;
  /** After a request, nothing more is asked, in either direction, for this long. */
  readonly cooldownMs: number;
  /** The most nodes one request asks for or gives back. */
  readonly maxStep: number;
  /** The priorities whose unmet need asks for nodes (1..upTo). */
  readonly upTo: number;
}

/**
 * The defaults, in real time (a compressed run divides the times by the node time scale). Scale-out after 30 s:
 * a spike shorter than that is absorbed by preempting batch work, and a node boots in 90–240 s anyway.
 * Scale-in after 10 min, as the cluster-autoscaler's scale-down-unneeded-time, so the two give nodes back
 * alike. A cooldown of 60 s between requests; at most 10 nodes per request (the cluster-autoscaler's
 * max-empty-bulk-delete).
 */
export const DEFAULT_PRESSURE: PressureSettings = {
  scaleOutAfterMs: 30_000,
  scaleInAfterMs: 600_000,
  cooldownMs: 240_000,
  maxStep: 10,
  upTo: 1,
};

const NO_RESOURCES = { cpu: 0, memory: 0 };

export type PlanHook = (now: number, capacity: Capacity, plan: Plan) => void;

/**
 * Feeds each tick's plan to the pressure signals and acts on the decider's requests at once (a node
 * autoscaling target that accepts them). Unmet need is counted less what the nodes already booting will
 * bring, so a request is not repeated while its nodes boot.
 */
export function pressureRules(
  nodes: NodePool,
  services: readonly SimService[],
  settings: PressureSettings = DEFAULT_PRESSURE,
): PlanHook {
  const scale = nodes.setup.timeScale;
  const unmet = new Sustained(settings.scaleOutAfterMs / scale);
  const idle = new Sustained(settings.scaleInAfterMs / scale);
  const decider = new AutoscaleDecider({
    cooldownMs: settings.cooldownMs / scale,
    maxStep: settings.maxStep,
  });
  const node = { cpu: 0, memory: 0, replicas: nodes.size };
  const byName = new Map(services.map((s) => [s.name, { min: s.min, max: s.max }]));
  return (now, capacity, plan) => {
    const input: PressureService[] = plan.services.map((p) => {
      const s = byName.get(p.name) ?? { min: 0, max: p.desired };
      return { ...s, priority: p.priority, need: p.need, desired: p.desired, resources: NO_RESOURCES };
    });
    const signal = pressure(capacity, input, settings.upTo);
    const coming = nodes.bootingCount * nodes.size;
    const short = Math.max(0, signal.unmet.replicas - coming);
    const ask = decider.decide(
      now,
      unmet.add(now, { replicas: short, cpu: 0, memory: 0 }),
      idle.add(now, signal.idle),
      node,
    );
    if (!ask?.nodes) return;
    if (ask.direction === 'out') nodes.add(ask.nodes, now);
    else nodes.remove(ask.nodes, now);
  };
}
