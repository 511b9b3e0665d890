// Which capacity is in force when it is read live (from the back-end or a source, issue 15): a failed or
// implausible reading never moves it. Pure: the controller feeds it each reading with the time.
//
// - A reading that fails holds the last good value, reported (as a failing demand source holds its service).
// - A rise is taken at once: more room can only let waiting replicas start.
// - A drop to less than half of what is in force (in replicas, cpu or memory) is taken only once readings
//   have said so for `confirmMs` (a node list that came back half empty once is not a cluster that lost half
//   its nodes); meanwhile the value in force holds and the suspicion is reported.
// - 0 (of something that was more than 0) is never taken: capacity never shrinks to zero because a node
//   list came back empty. It holds and is reported until a reading above 0 comes.
// - Any other drop is taken at once.
import type { Capacity } from '../core/types.js';

export type CapacityReading =
  | {
      readonly capacity: Capacity /** What changed, for people: "node n3 not ready". */;
      readonly why?: string;
    }
  | { readonly error: string };

export interface CapacityChange {
  readonly from: Capacity | undefined;
  readonly to: Capacity;
  readonly why?: string;
}

export interface CapacityVerdict {
  /** In force after this reading; undefined until a first good one (nothing may be planned meanwhile). */
  readonly capacity: Capacity | undefined;
  /** Set when this reading changed what is in force. */
  readonly change?: CapacityChange;
  /** Why the reading was not taken, while that lasts; undefined once a reading is taken. */
  readonly problem?: string;
}

const DIMENSIONS = ['replicas', 'cpu', 'memory'] as const;

/** The first dimension in which `next` is 0 (and `now`, if any, was more), or undefined. */
function toZero(now: Capacity | undefined, next: Capacity): string | undefined {
  return DIMENSIONS.find(
    (d) => (now === undefined || (now[d] ?? 0) > 0) && next[d] !== undefined && next[d] <= 0,
  );
}

/** The first dimension in which `next` is less than half of `now`, or undefined. */
function halved(now: Capacity, next: Capacity): string | undefined {
  return DIMENSIONS.find(
    (d) => next[d] !== undefined && (now[d] ?? 0) > 0 && (next[d] as number) < (now[d] as number) / 2,
  );
}

export function sameCapacity(a: Capacity | undefined, b: Capacity | undefined): boolean {
  return DIMENSIONS.every((d) => a?.[d] === b?.[d]);
}

export function describeCapacity(c: Capacity): string {
  const parts = [`${c.replicas} replicas`];
  if (c.cpu !== undefined) parts.push(`${Number(c.cpu.toFixed(3))} cpu`);
  if (c.memory !== undefined) parts.push(`${Math.round(c.memory / 2 ** 20)} MiB`);
  return parts.join(', ');
}

export class CapacityGuard {
  private inForce: Capacity | undefined;
  /** Since when readings have asked for a drop to less than half; undefined when none does. */
  private suspectSince: number | undefined;

  constructor(
    private readonly confirmMs: number,
    initial?: Capacity,
  ) {
    this.inForce = initial;
  }

  get capacity(): Capacity | undefined {
    return this.inForce;
  }

  read(now: number, reading: CapacityReading): CapacityVerdict {
    const held = this.inForce;
    const holding = held
      ? `; holding ${describeCapacity(held)}`
      : '; nothing is planned until a reading succeeds';
    if ('error' in reading) {
      this.suspectSince = undefined; // a drop is confirmed by readings in a row, not across a failure
      return { capacity: held, problem: `capacity could not be read: ${reading.error}${holding}` };
    }
    const next = reading.capacity;
    if (!valid(next)) {
      this.suspectSince = undefined;
      return {
        capacity: held,
        problem: `capacity read as ${describeCapacity(next)}, which cannot be${holding}`,
      };
    }
    const zero = toZero(held, next);
    if (zero) {
      this.suspectSince = undefined;
      return {
        capacity: held,
        problem: `capacity read as 0 ${zero}${reading.why ? ` (${reading.why})` : ''}: never taken${holding}`,
      };
    }
    if (held === undefined) return this.take(next, reading.why);
    const half = halved(held, next);
    if (half) {
      this.suspectSince ??= now;
      const waited = now - this.suspectSince;
      if (waited < this.confirmMs) {
        return {
          capacity: held,
          problem: `capacity read as ${describeCapacity(next)}, less than half the ${half} in force: taken if it stays so for ${this.confirmMs / 1000}s (${(waited / 1000).toFixed(1)}s so far)${holding}`,
        };
      }
    }
    return this.take(next, reading.why);
  }

  private take(next: Capacity, why: string | undefined): CapacityVerdict {
    this.suspectSince = undefined;
    const from = this.inForce;
    if (sameCapacity(from, next)) return { capacity: from };
    this.inForce = next;
    return { capacity: next, change: { from, to: next, ...(why ? { why } : {}) } };
  }
}

function valid(c: Capacity): boolean {
  return DIMENSIONS.every((d) => c[d] === undefined || (Number.isFinite(c[d]) && (c[d] as number) >= 0));
}
