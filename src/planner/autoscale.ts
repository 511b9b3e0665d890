// When to ask VM autoscaling for machines, or to give some back (issue 15). Pure: fed every tick with the
// sustained signals (pressure.ts), it says what to ask for, if anything.
//
// Never flaps (hysteresis):
// - one request at a time, then a cooldown in which nothing more is asked in either direction;
// - scale-out asks as soon as unmet need has lasted its window (any amount: work is waiting); scale-in asks
//   only for whole nodes' worth of idle capacity that has lasted its window, in every dimension at once (a
//   partial node is never given back), and never while any need is unmet;
// - at most maxStep nodes per request. Without a node size, scale-out asks for the unmet amount and
//   scale-in never asks (what a node is worth is unknown).
import type { Amount, CapacityAsk } from '../core/types.js';

export interface NodeSize {
  readonly cpu: number;
  readonly memory: number;
  /** Replicas a node holds (`perNode`); absent when replicas are not counted per node. */
  readonly replicas?: number;
}

export interface AutoscalePolicy {
  readonly cooldownMs: number;
  /** The most nodes one request asks for or gives back. */
  readonly maxStep: number;
}

/** What to ask for (core's CapacityAsk). */
export type AutoscaleAsk = CapacityAsk;

/** Nodes that cover `a` (out: rounded up, the largest dimension) or that `a` holds whole (in: rounded down). */
export function nodesFor(a: Amount, node: NodeSize, round: 'up' | 'down'): number {
  const ratios = [
    node.cpu > 0 ? a.cpu / node.cpu : undefined,
    node.memory > 0 ? a.memory / node.memory : undefined,
    node.replicas && node.replicas > 0 ? a.replicas / node.replicas : undefined,
  ].filter((x): x is number => x !== undefined);
  if (ratios.length === 0) return 0;
  return round === 'up' ? Math.ceil(Math.max(...ratios) - 1e-9) : Math.floor(Math.min(...ratios) + 1e-9);
}

export class AutoscaleDecider {
  /** Until when nothing is asked (after the last request). */
  private quietUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly policy: AutoscalePolicy) {}

  /**
   * `unmet` and `idle` are the sustained signals (0 until each has lasted its window). Returns the request
   * to make now, or undefined; a request starts the cooldown.
   */
  decide(now: number, unmet: Amount, idle: Amount, node?: NodeSize): AutoscaleAsk | undefined {
    if (now < this.quietUntil) return undefined;
    const { maxStep } = this.policy;
    const some = (a: Amount) => a.replicas > 0 || a.cpu > 0 || a.memory > 0;
    let ask: AutoscaleAsk | undefined;
    if (some(unmet)) {
      const nodes = node ? Math.min(maxStep, Math.max(1, nodesFor(unmet, node, 'up'))) : undefined;
      ask = {
        direction: 'out',
        ...(nodes !== undefined ? { nodes } : {}),
        want: node && nodes !== undefined ? capped(unmet, node, nodes) : unmet,
        reason: `unmet need of ${describe(unmet)} has lasted its window`,
      };
    } else if (node && some(idle)) {
      const whole = Math.min(maxStep, nodesFor(idle, node, 'down'));
      if (whole >= 1) {
        ask = {
          direction: 'in',
          nodes: whole,
          want: {
            replicas: (node.replicas ?? 0) * whole,
            cpu: node.cpu * whole,
            memory: node.memory * whole,
          },
          reason: `idle capacity of ${describe(idle)} (${whole} whole node${whole === 1 ? '' : 's'}) has lasted its window`,
        };
      }
    }
    if (ask) this.quietUntil = now + this.policy.cooldownMs;
    return ask;
  }
}

/** What `nodes` nodes bring, no more than what is unmet. */
function capped(unmet: Amount, node: NodeSize, nodes: number): Amount {
  return {
    replicas: node.replicas ? Math.min(unmet.replicas, node.replicas * nodes) : unmet.replicas,
    cpu: Math.min(unmet.cpu, node.cpu * nodes),
    memory: Math.min(unmet.memory, node.memory * nodes),
  };
}

function describe(a: Amount): string {
  return `${a.replicas} replicas, ${Number(a.cpu.toFixed(2))} cpu, ${Math.round(a.memory / 2 ** 20)} MiB`;
}
