// microscaler's pressure rules on a simulated cluster of nodes (issue 15 §2 and §3): every tick's plan gives
// the unmet need and the idle capacity (planner/pressure.ts), each sustained over its window, and the
// AutoscaleDecider (planner/autoscale.ts) turns them into requests for nodes, or gives whole ones back.
import type { Capacity, Plan } from '../core/types.js';
import { AutoscaleDecider } from '../planner/autoscale.js';
import { NO_AMOUNT, type PressureService, pressure, Sustained } from '../planner/pressure.js';
import type { NodePool } from './nodes.js';
import type { SimService } from './setup.js';
import { Trend } from './trend.js';

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
  /** Idle capacity kept, in nodes: only what is idle beyond it is given back (0: every whole idle node). */
  readonly spareNodes: number;
  /**
   * Idle capacity kept as well, when priority-1 need rises: the rise its least-squares slope over this window
   * projects over `riseLeadMs`, in whole nodes (0: none; the larger of this and `spareNodes` is kept).
   */
  readonly riseWindowMs: number;
  /** How far ahead the rise is projected: about a boot, so the nodes a ramp needs soon are not given back. */
  readonly riseLeadMs: number;
}

/**
 * The defaults, in real time (a compressed run divides the times by the node time scale). Scale-out after 15 s
 * of unmet need: a spike shorter than that is absorbed by preempting batch work, and HPA with the
 * cluster-autoscaler asks about as soon on average (a 15 s HPA sync, then a 10 s scan). Scale-in after 10
 * min of idle capacity, as the cluster-autoscaler's scale-down-unneeded-time. A cooldown of 30 s between
 * requests: requests are not repeated while nodes boot anyway (below), and no unmet need can coexist with
 * idle capacity, so a scale-in needs 10 idle minutes after any scale-out. At most 10 nodes per request (the
 * cluster-autoscaler's max-empty-bulk-delete).
 */
export const DEFAULT_PRESSURE: PressureSettings = {
  scaleOutAfterMs: 15_000,
  scaleInAfterMs: 600_000,
  cooldownMs: 30_000,
  maxStep: 10,
  upTo: 1,
  spareNodes: 0,
  riseWindowMs: 0,
  riseLeadMs: 165_000,
};

const NO_RESOURCES = { cpu: 0, memory: 0 };

export type PlanHook = (now: number, capacity: Capacity, plan: Plan) => void;

/**
 * Feeds the plan to the pressure signals and acts on the decider's requests at once (a node autoscaling
 * target that accepts them). Unmet need is counted less what the nodes already booting will bring, so a
 * request is not repeated while its nodes boot. Sustained sees each signal's smallest value over a second
 * (idle capacity: over 10 s) instead of every tick's: the same minimum over its window, to within that
 * second, where a window of 6,000 tick samples, every tick of a 27-day trace, would cost more than the run.
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
  // One record per service, rewritten every tick (a tick's garbage is most of the cost of a long run).
  type Row = { -readonly [K in keyof PressureService]: PressureService[K] };
  const byName = new Map<string, Row>();
  const input: Row[] = services.map((s) => {
    const row: Row = {
      priority: s.priority,
      min: s.min,
      max: s.max,
      need: 0,
      desired: 0,
      resources: NO_RESOURCES,
    };
    byName.set(s.name, row);
    return row;
  });
  const unmetEvery = 1000 / scale;
  const idleEvery = 10_000 / scale;
  const rising = settings.riseWindowMs > 0 ? riseKept(nodes, settings) : undefined;
  // The smallest of each signal over the ticks since its last sample: what the window's minimum would see.
  const low = new Bucket();
  const lowIdle = new Bucket();
  let nextUnmet = unmetEvery;
  let nextIdle = idleEvery;
  let idleNow = NO_AMOUNT;
  return (now, capacity, plan) => {
    for (const p of plan.services) {
      const row = byName.get(p.name);
      if (!row) continue;
      row.need = p.need;
      row.desired = p.desired;
    }
    const signal = pressure(capacity, input, settings.upTo);
    low.add(Math.max(0, signal.unmet.replicas - nodes.bootingCount * nodes.size));
    rising?.add(input, settings.upTo);
    const kept = Math.max(settings.spareNodes * nodes.size, rising?.kept ?? 0);
    lowIdle.add(Math.max(0, signal.idle.replicas - kept));
    if (now < nextUnmet - 1e-6) return;
    nextUnmet = after(now, unmetEvery);
    rising?.sample(now);
    if (now >= nextIdle - 1e-6) {
      nextIdle = after(now, idleEvery);
      idleNow = idle.add(now, { replicas: lowIdle.take(), cpu: 0, memory: 0 });
    }
    const short = { replicas: low.take(), cpu: 0, memory: 0 };
    const ask = decider.decide(now, unmet.add(now, short), idleNow, node);
    if (!ask?.nodes) return;
    if (ask.direction === 'out') nodes.add(ask.nodes, now);
    else nodes.remove(ask.nodes, now);
  };
}

/**
 * The replicas kept for a rise: every 10 s (scaled) the least priority-1 want since the last sample joins the
 * trend (the least, so a backlog's spike is not a rise), and what its slope adds over the lead, in whole nodes.
 */
function riseKept(nodes: NodePool, settings: PressureSettings) {
  const scale = nodes.setup.timeScale;
  const every = 10_000 / scale;
  const trend = new Trend(settings.riseWindowMs / scale);
  const low = new Bucket();
  let next = every;
  return {
    kept: 0,
    add(services: readonly PressureService[], upTo: number): void {
      let sum = 0;
      for (const s of services) if (s.priority <= upTo) sum += Math.min(Math.max(s.need, s.min), s.max);
      low.add(sum);
    },
    sample(now: number): void {
      if (now < next - 1e-6) return;
      next = after(now, every);
      const wanted = low.take();
      trend.add(now, wanted);
      const rise = trend.ahead(settings.riseLeadMs / scale) - wanted;
      this.kept = Math.ceil(rise / nodes.size) * nodes.size;
    },
  };
}

/** The first multiple of `every` after `now`. */
const after = (now: number, every: number) => (Math.floor(now / every + 1e-9) + 1) * every;

/** The smallest value added since the last take. */
class Bucket {
  private low = Number.POSITIVE_INFINITY;

  add(x: number): void {
    if (x < this.low) this.low = x;
  }

  take(): number {
    const x = this.low === Number.POSITIVE_INFINITY ? 0 : this.low;
    this.low = Number.POSITIVE_INFINITY;
    return x;
  }
}
