import type { ControllerSnapshot } from '../../src/controller/index.js';
import type { Capacity, ServicePolicy } from '../../src/core/types.js';

/** Whether a service's source is failing (every read fails) or healthy, and since when. */
export type SignalState = { readonly failing: boolean; readonly since: number } | undefined;

interface Budget {
  replicas: number;
  cpu: number;
  memory: number;
}

interface Seen {
  readonly desired: number;
  readonly need: number;
  readonly error: boolean;
}

export interface InvariantOptions {
  readonly services: readonly ServicePolicy[];
  readonly capacity: Capacity;
  readonly intervalMs: number;
  /** How long after a source starts (or stops) failing the snapshot must say so. */
  readonly reportWithinMs: number;
  readonly signal: (service: string) => SignalState;
}

const EPS = 1e-9;

/**
 * The planner's promises of DESIGN.md, checked on the controller's snapshot after every tick. Each check is
 * sound: it flags only what the planner cannot do, never a plan that the promises allow. Where the exact
 * allocation depends on what the snapshot does not show (the stabilised need, the share of a min that fitted),
 * the check computes the budget a service certainly had (subtracting at least what others certainly took)
 * and asks only what that budget implies.
 *
 * - capacity: desired replicas, cpu and memory fit the capacity; desired is a whole number within max;
 * - min: a service below its min could not have had it after the mins before it (priority, name order);
 * - strict priority and scale-up in the same tick: a service with room left for one more replica after its
 *   own group (counting only the mins of lower groups) has its whole need now, so no lower-priority service
 *   holds capacity it was owed, and a remainder service with room has its max;
 * - stabilised scale-down: a service that went down while it had room wanted no more than that within its
 *   whole scaleDownWindow;
 * - a missing signal holds the need: while a source fails the need stays what it was (not lower than the
 *   last need read), so the service is never scaled down or to zero for it (only preempted);
 * - reporting: a source failing for reportWithinMs shows its error in the state, and a healthy one none.
 */
export class Invariants {
  private readonly opts: InvariantOptions;
  private readonly order: readonly ServicePolicy[];
  private readonly groupOf: Map<string, number>;
  private previous = new Map<string, Seen>();
  /** Per service, (time, clamped need) of the ticks where its signal was read, newest last. */
  private readonly samples = new Map<string, number[]>();
  private readonly longestWindow: number;
  checks = 0;

  constructor(options: InvariantOptions) {
    this.opts = options;
    this.order = [...options.services].sort(
      (a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    // Groups in the order the planner serves them: per priority, services with a rule, then remainders.
    this.groupOf = new Map(
      this.order.map((s) => [s.name, s.priority * 2 + (s.rule.type === 'remainder' ? 1 : 0)]),
    );
    this.longestWindow = Math.max(...options.services.map((s) => s.scaleDownWindowMs));
  }

  /** Checks the plan of one tick, made at `now`; returns what is wrong (nothing, normally). */
  check(now: number, snapshot: ControllerSnapshot): string[] {
    const { capacity, intervalMs } = this.opts;
    const out: string[] = [];
    const byName = new Map(snapshot.services.map((s) => [s.name, s]));
    const desired = (name: string) => byName.get(name)?.desired ?? 0;
    this.checks++;

    // Capacity, whole numbers, max.
    const total: Budget = { replicas: 0, cpu: 0, memory: 0 };
    for (const s of this.order) {
      const d = desired(s.name);
      if (!Number.isInteger(d) || d < 0) out.push(`${s.name}: desired ${d} is not a whole number ≥ 0`);
      if (d > s.max) out.push(`${s.name}: desired ${d} above max ${s.max}`);
      total.replicas += d;
      total.cpu += d * s.resources.cpu;
      total.memory += d * s.resources.memory;
    }
    if (total.replicas > capacity.replicas)
      out.push(`plan of ${total.replicas} replicas over capacity ${capacity.replicas}`);
    if (capacity.cpu !== undefined && total.cpu > capacity.cpu + EPS)
      out.push(`plan of ${total.cpu} cpu over capacity ${capacity.cpu}`);
    if (capacity.memory !== undefined && total.memory > capacity.memory)
      out.push(`plan of ${total.memory} bytes over capacity ${capacity.memory}`);

    // Mins, in priority order, as far as they fit.
    const free = budget(capacity);
    for (const s of this.order) {
      const d = desired(s.name);
      const owed = Math.min(s.min, units(free, s));
      if (d < owed) out.push(`${s.name}: desired ${d} below its min ${s.min}, and ${owed} of it fitted`);
      take(free, s, Math.min(s.min, d));
    }

    for (const s of this.order) {
      const p = byName.get(s.name);
      if (!p) {
        out.push(`${s.name}: missing from the snapshot`);
        continue;
      }
      const signalled = s.rule.type === 'target' || s.rule.type === 'queue';
      const error = p.error !== undefined;
      const want = clamp(s, p.need);
      const room = units(this.roomAfterGroup(s, desired), s) >= 1;
      const before = this.previous.get(s.name);

      // Room left after its group: it has its whole (stabilised) need, which is at least the need of now.
      if (room && p.desired < want)
        out.push(
          `${s.name}: desired ${p.desired} below its need ${want} with room for more (priority or scale-up)`,
        );

      if (signalled && !error) {
        const list = this.samples.get(s.name) ?? [];
        // Scale-down only after need stayed lower for the whole window (times are the plans' own).
        if (room && before && p.desired < before.desired) {
          const from = now - s.scaleDownWindowMs;
          for (let i = 0; i < list.length; i += 2) {
            const t = list[i] as number;
            const n = list[i + 1] as number;
            if (t > from && n > p.desired) {
              out.push(
                `${s.name}: scaled down ${before.desired}→${p.desired} though need was ${n} ${now - t}ms ago (window ${s.scaleDownWindowMs}ms)`,
              );
              break;
            }
          }
        }
        list.push(now, want);
        while (list.length > 0 && (list[0] as number) < now - this.longestWindow - 10 * intervalMs)
          list.splice(0, 2);
        this.samples.set(s.name, list);
      }

      if (signalled && error && before) {
        // Held, not lowered: the need while blind is the stabilised need from before, at least the last read.
        if (before.error && p.need !== before.need)
          out.push(`${s.name}: need moved ${before.need}→${p.need} while its source fails`);
        if (!before.error && p.need < before.need)
          out.push(`${s.name}: need fell ${before.need}→${p.need} when its source failed`);
      }

      const signal = this.opts.signal(s.name);
      if (signal && now - signal.since >= this.opts.reportWithinMs) {
        if (signal.failing && !error)
          out.push(`${s.name}: source failing for ${now - signal.since}ms, not reported`);
        if (!signal.failing && error)
          out.push(`${s.name}: source healthy for ${now - signal.since}ms, still reported: ${p.error}`);
      }
    }

    const next = new Map<string, Seen>();
    for (const p of snapshot.services)
      next.set(p.name, { desired: p.desired, need: p.need, error: p.error !== undefined });
    this.previous = next;
    return out;
  }

  /**
   * What certainly remained when the planner had served s's group: capacity less what every group up to
   * s's own holds, less (for later groups) no more than their mins could have taken in the first pass.
   */
  private roomAfterGroup(s: ServicePolicy, desired: (name: string) => number): Budget {
    const mine = this.groupOf.get(s.name) as number;
    const free = budget(this.opts.capacity);
    for (const o of this.order) {
      const d = desired(o.name);
      take(free, o, (this.groupOf.get(o.name) as number) <= mine ? d : Math.min(o.min, d));
    }
    return free;
  }
}

function budget(capacity: Capacity): Budget {
  return {
    replicas: capacity.replicas,
    cpu: capacity.cpu ?? Number.POSITIVE_INFINITY,
    memory: capacity.memory ?? Number.POSITIVE_INFINITY,
  };
}

function take(b: Budget, s: ServicePolicy, n: number): void {
  b.replicas -= n;
  b.cpu -= n * s.resources.cpu;
  b.memory -= n * s.resources.memory;
}

/** Replicas of s that fit in b. */
function units(b: Budget, s: ServicePolicy): number {
  let n = Math.max(0, b.replicas);
  if (s.resources.cpu > 0) n = Math.min(n, Math.floor(b.cpu / s.resources.cpu + EPS));
  if (s.resources.memory > 0) n = Math.min(n, Math.floor(b.memory / s.resources.memory + EPS));
  return Math.max(0, n);
}

function clamp(s: ServicePolicy, need: number): number {
  return Math.min(s.max, Math.max(s.min, need));
}
