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

/** How many slices a window is kept in: memory stays bounded whatever the tick (the soak test checks it). */
const SLICES = 64;

const least = (a: Amount, b: Amount): Amount => ({
  replicas: Math.min(a.replicas, b.replicas),
  cpu: Math.min(a.cpu, b.cpu),
  memory: Math.min(a.memory, b.memory),
});

/**
 * What a signal has been at least for the whole of the last `windowMs`: 0 until the window is covered. A
 * sample holds until the next one. The window is kept as at most SLICES slices, each the least of the
 * samples in it, so the oldest slice may reach up to windowMs / SLICES further back: it only ever errs low.
 */
export class Sustained {
  private readonly slices: { start: number; low: Amount }[] = [];
  /** Since when every sample has been above 0 (in replicas, cpu or memory). */
  private since: number | undefined;
  private readonly width: number;

  constructor(private readonly windowMs: number) {
    this.width = Math.max(1, windowMs / SLICES);
  }

  add(now: number, amount: Amount): Amount {
    const any = amount.replicas > 0 || amount.cpu > 0 || amount.memory > 0;
    if (!any) {
      this.slices.length = 0;
      this.since = undefined;
      return NO_AMOUNT;
    }
    this.since ??= now;
    const last = this.slices.at(-1);
    if (last && now < last.start + this.width) last.low = least(last.low, amount);
    else this.slices.push({ start: now, low: amount });
    // Keep the slice that covers the window's start; drop those wholly before it.
    while (this.slices.length > 1 && (this.slices[1]?.start ?? now) <= now - this.windowMs)
      this.slices.shift();
    if (now - this.since < this.windowMs) return NO_AMOUNT;
    return this.slices.reduce<Amount>((low, s) => least(low, s.low), {
      replicas: Infinity,
      cpu: Infinity,
      memory: Infinity,
    });
  }

  /** Slices held now (for tests of the bound). */
  get size(): number {
    return this.slices.length;
  }
}
