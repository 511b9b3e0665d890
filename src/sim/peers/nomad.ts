// Nomad Autoscaler target-value strategy, as in plugins/builtin/strategy/target-value/plugin/plugin.go (Run)
// and agent/config defaults at hashicorp/nomad-autoscaler@ede4e617; ../shared/research/peers.md §4.
import type { Autoscaler } from '../cluster.js';

export interface NomadOptions {
  readonly min: number;
  readonly max: number;
  readonly evaluationMs?: number;
  readonly cooldownMs?: number;
  readonly threshold?: number;
}

const EPS = 1e-9;
const ceil = (x: number) => Math.max(0, Math.ceil(x - EPS));

/**
 * A policy whose check reads the load per instance (replicas' worth of work / count) with target 1. Every
 * evaluation_interval (10 s), unless in cooldown: factor = metric / target; outside 1 ± 0.01 the new count is
 * ceil(count × factor), clamped to min and max; from 0, ceil(factor) of the total. A change starts a 5 min
 * cooldown, for scale-up as for scale-down.
 */
export class Nomad implements Autoscaler {
  private readonly o: Required<NomadOptions>;
  private nextEval = 0;
  private cooldownUntil = Number.NEGATIVE_INFINITY;
  count: number;

  constructor(options: NomadOptions) {
    this.o = { evaluationMs: 10_000, cooldownMs: 300_000, threshold: 0.01, ...options };
    this.count = options.min;
  }

  step(now: number, load: number): number {
    if (now >= this.nextEval) {
      this.nextEval = now + this.o.evaluationMs;
      if (now >= this.cooldownUntil) this.evaluate(now, load);
    }
    return this.count;
  }

  evaluate(now: number, load: number): void {
    const { threshold, min, max } = this.o;
    const count = this.count;
    const factor = count === 0 ? load : load / count;
    const up = count === 0 ? factor > 0 : factor > 1 + threshold;
    const down = count !== 0 && factor < 1 - threshold;
    if (!up && !down) return;
    let next = count === 0 ? ceil(factor) : ceil(count * factor);
    next = Math.min(Math.max(next, min), max);
    if (next === count) return;
    this.count = next;
    this.cooldownUntil = now + this.o.cooldownMs;
  }
}
