// The two signals microscaler hands to VM autoscaling (issue 15), computed from one tick's plan. Pure.
// - unmet need: what the services of priority 1..k need (within their max) and the plan could not give
//   them, because it did not fit;
// - idle capacity: what is free or held only by lower-priority work beyond its min, less what warm pools
//   keep (memory): what could be given back without any service of priority 1..k or any min losing.
// `Sustained` turns a signal into what has lasted a window (its smallest value over the window), so a
// spike of a few seconds, which containers absorb, never asks for a machine.
import type { Amount, Capacity, Resources } from '../core/types.js';

export type { Amount };

export const NO_AMOUNT: Amount = Object.freeze({ replicas: 0, cpu: 0, memory: 0 });

/** One service as the tick's plan left it. */
export interface PressureService {
  readonly priority: number;
  readonly min: number;
  readonly max: number;
  /** Replicas the rule asks for. */
  readonly need: number;
  /** Replicas the plan gives it. */
  readonly desired: number;
  readonly resources: Resources;
  /** Frozen replicas its warm pool keeps (memory, no cpu). */
  readonly warm?: number;
}

export interface Pressure {
  readonly unmet: Amount;
  readonly idle: Amount;
}

const times = (n: number, r: Resources): Amount => ({ replicas: n, cpu: n * r.cpu, memory: n * r.memory });
const plus = (a: Amount, b: Amount): Amount => ({
  replicas: a.replicas + b.replicas,
  cpu: a.cpu + b.cpu,
  memory: a.memory + b.memory,
});

/** The signals of one tick; `upTo` is k: the priorities whose unmet need asks for machines. */
export function pressure(capacity: Capacity, services: readonly PressureService[], upTo: number): Pressure {
  let unmet = NO_AMOUNT;
  let kept = NO_AMOUNT; // what priority 1..k use or want, every min, and warm pools' memory
  for (const s of services) {
    const wanted = Math.min(Math.max(s.need, s.min), s.max);
    if (s.priority <= upTo) {
      unmet = plus(unmet, times(Math.max(0, wanted - s.desired), s.resources));
      kept = plus(kept, times(Math.max(wanted, s.desired), s.resources));
    } else {
      kept = plus(kept, times(Math.min(s.min, s.desired), s.resources));
    }
    if (s.warm) kept = plus(kept, { replicas: 0, cpu: 0, memory: s.warm * s.resources.memory });
  }
  const free = (total: number | undefined, used: number) =>
    total === undefined ? 0 : Math.max(0, total - used);
  return {
    unmet,
    idle: {
      replicas: free(capacity.replicas, kept.replicas),
      cpu: free(capacity.cpu, kept.cpu),
      memory: free(capacity.memory, kept.memory),
    },
  };
}

/** What a signal has been at least for the whole of the last `windowMs`: 0 until the window is covered. */
export class Sustained {
  private readonly samples: { at: number; amount: Amount }[] = [];
  /** Since when every sample has been above 0 (in replicas, cpu or memory). */
  private since: number | undefined;

  constructor(private readonly windowMs: number) {}

  add(now: number, amount: Amount): Amount {
    const any = amount.replicas > 0 || amount.cpu > 0 || amount.memory > 0;
    if (!any) {
      this.samples.length = 0;
      this.since = undefined;
      return NO_AMOUNT;
    }
    this.since ??= now;
    this.samples.push({ at: now, amount });
    while (this.samples.length > 1 && (this.samples[1]?.at ?? now) <= now - this.windowMs)
      this.samples.shift();
    if (now - this.since < this.windowMs) return NO_AMOUNT;
    return this.samples.reduce<Amount>(
      (low, s) => ({
        replicas: Math.min(low.replicas, s.amount.replicas),
        cpu: Math.min(low.cpu, s.amount.cpu),
        memory: Math.min(low.memory, s.amount.memory),
      }),
      { replicas: Infinity, cpu: Infinity, memory: Infinity },
    );
  }
}
