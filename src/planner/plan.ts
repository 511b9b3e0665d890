import { byPriorityThenName } from '../core/order.js';
import type {
  Capacity,
  Observed,
  Plan,
  Reading,
  Reason,
  ServicePlan,
  ServicePolicy,
  SourceResult,
} from '../core/types.js';
import { allocate, Claims } from './allocate.js';
import { explainNeed, ruleNeed } from './need.js';
import { type NeedWindow, pushNeed, windowMax } from './window.js';

export interface PlanInput {
  readonly now: number;
  readonly capacity: Capacity;
  readonly services: readonly ServicePolicy[];
  /** Per service with a source: its latest result. A service without an entry has no signal this tick. */
  readonly readings: ReadonlyMap<string, SourceResult>;
  readonly observed: ReadonlyMap<string, Observed>;
}

/**
 * What the planner remembers between ticks: per service its need window and last desired count, in arrays
 * aligned with a sorted service list. Treat as opaque and pass back unchanged.
 */
export interface PlannerMemory {
  readonly services: readonly ServicePolicy[];
  readonly windows: readonly NeedWindow[];
  /** When each window's newest sample was taken. */
  readonly tails: Float64Array;
  readonly desired: Float64Array;
  /** Last tick's plan, reused where nothing changed (fewer short-lived objects for the collector). */
  readonly plans: readonly ServicePlan[];
}

export const EMPTY_MEMORY: PlannerMemory = Object.freeze({
  services: [],
  windows: [],
  tails: new Float64Array(0),
  desired: new Float64Array(0),
  plans: [],
});

export interface PlanResult {
  readonly plan: Plan;
  readonly memory: PlannerMemory;
}

/** Orders services the way every decision honours them: priority first, then name. */
export function byPriority(a: ServicePolicy, b: ServicePolicy): number {
  return byPriorityThenName(a, b);
}

// Services rarely change between ticks: sort each list once (by identity), not on every tick.
const sortedLists = new WeakMap<readonly ServicePolicy[], readonly ServicePolicy[]>();
function sorted(services: readonly ServicePolicy[]): readonly ServicePolicy[] {
  let out = sortedLists.get(services);
  if (!out) {
    out = [...services].sort(byPriority);
    sortedLists.set(services, out);
  }
  return out;
}

/**
 * One decision: the replicas each service should have, with a reason for every change.
 * Pure: the same input and memory give the same plan.
 */
export function plan(input: PlanInput, memory: PlannerMemory): PlanResult {
  const services = sorted(input.services);
  const n = services.length;
  const previous = aligner(memory, services);
  const windows: NeedWindow[] = new Array(n);
  const tails = new Float64Array(n);
  const desiredOut = new Float64Array(n);
  const claims = new Claims(n);
  const facts: Fact[] = new Array(n);

  for (let i = 0; i < n; i++) {
    const s = services[i] as ServicePolicy;
    const j = previous(i);
    const seen = input.observed.get(s.name);
    const active = seen ? seen.running + seen.starting : 0;
    // Before this instance has decided anything (first tick, or after a restart) what runs is the baseline:
    // the window starts from it, so a restart never scales down before the window has passed.
    const current = j < 0 ? active : (memory.desired[j] as number);
    let window = j < 0 ? [input.now, current] : (memory.windows[j] as NeedWindow);
    let tail = j < 0 ? input.now : (memory.tails[j] as number);
    const signal = needsSignal(s);
    const result = signal ? input.readings.get(s.name) : undefined;
    let need: number;
    let reading: Reading | undefined;
    let error: string | undefined;

    if (signal && !result?.ok) {
      // No signal: hold what the service has. Never scale to zero (or anywhere) on a missing metric.
      // The window keeps the need from before the failure (or, on first sight, what runs): hold that need,
      // not the last allocation, so capacity contention cannot ratchet a blind service down tick by tick.
      error = result ? result.error : 'no reading yet';
      need = windowMax(window);
    } else {
      reading = result?.ok ? result.reading : undefined;
      need = ruleNeed(s.rule, reading);
      // A value just back after an outage restarts the window at the need held through it: the window
      // did not see demand meanwhile, so an outage longer than the window must not count as having
      // waited it out (that would scale down in the very tick the source recovers).
      if (j >= 0 && memory.plans[j]?.error !== undefined) {
        window = [input.now, windowMax(window)];
        tail = input.now;
      }
      if (Number.isFinite(need)) {
        window = pushNeed(window, tail, input.now, need, s.scaleDownWindowMs);
        tail = input.now;
      }
    }

    claims.priority[i] = s.priority;
    claims.min[i] = s.min;
    // An unbounded max (capacity read live, no max given) is as much as the capacity in force allows.
    claims.max[i] = Number.isFinite(s.max) ? s.max : input.capacity.replicas;
    claims.need[i] = Number.isFinite(need) ? windowMax(window) : need;
    claims.remainder[i] = s.rule.type === 'remainder' ? 1 : 0;
    claims.cpu[i] = s.resources.cpu;
    claims.memory[i] = s.resources.memory;
    facts[i] = { reading, need, error, current };
    windows[i] = window;
    tails[i] = tail;
  }

  const alloc = allocate(claims, input.capacity);
  const takers = new Takers(services, claims, alloc);
  const out: ServicePlan[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = services[i] as ServicePolicy;
    const f = facts[i] as Fact;
    const desired = alloc[i] as number;
    desiredOut[i] = desired;
    const reason = explainChange(s, f, claims, i, desired, takers);
    const value = f.reading?.value;
    const need = Number.isFinite(f.need) ? f.need : (claims.max[i] as number);
    const j = previous(i);
    const last = j < 0 ? undefined : memory.plans[j];
    if (
      last !== undefined &&
      reason === undefined &&
      f.error === undefined &&
      last.reason === undefined &&
      last.error === undefined &&
      last.value === value &&
      last.need === need &&
      last.desired === desired
    ) {
      out[i] = last;
      continue;
    }
    const p: { -readonly [K in keyof ServicePlan]: ServicePlan[K] } = {
      name: s.name,
      priority: s.priority,
      value,
      need,
      desired,
    };
    if (reason !== undefined) p.reason = reason;
    if (f.error !== undefined) p.error = f.error;
    out[i] = p;
  }
  return {
    plan: { at: input.now, services: out },
    memory: { services, windows, tails, desired: desiredOut, plans: out },
  };
}

/**
 * Maps an index of the current sorted list to the same service's index in memory (-1 if new). The same
 * list as last tick maps each index to itself; a changed config is matched by name, once per tick.
 */
function aligner(memory: PlannerMemory, services: readonly ServicePolicy[]): (i: number) => number {
  if (memory.services === services) return (i) => i;
  const byName = new Map(memory.services.map((s, j) => [s.name, j]));
  return (i) => byName.get((services[i] as ServicePolicy).name) ?? -1;
}

/** What the first pass learnt about a service. */
interface Fact {
  readonly reading: Reading | undefined;
  readonly need: number;
  readonly error: string | undefined;
  readonly current: number;
}

/** Why the rule asks for what it asks, or why the service is held; built only when a reason is shown. */
function why(s: ServicePolicy, f: Fact): string {
  if (f.error !== undefined) return `holding need at ${f.need}: ${f.error}`;
  return explainNeed(s.rule, f.reading, f.need);
}

function needsSignal(s: ServicePolicy): boolean {
  return s.rule.type === 'target' || s.rule.type === 'queue';
}

/** Names the higher-priority services holding capacity, for preemption reasons; a few per level, found once. */
class Takers {
  private readonly levels: { priority: number; names: string[]; more: boolean }[] = [];

  constructor(services: readonly ServicePolicy[], claims: Claims, alloc: Float64Array) {
    for (let i = 0; i < services.length; i++) {
      const s = services[i] as ServicePolicy;
      let level = this.levels[this.levels.length - 1];
      if (!level || level.priority !== s.priority) {
        level = { priority: s.priority, names: [], more: false };
        this.levels.push(level);
      }
      if ((alloc[i] as number) === 0) continue;
      if (level.names.length === 3) level.more = true;
      else level.names.push(`${s.name} (need ${claims.target(i)})`);
    }
  }

  /** Up to three services of a higher priority than `priority` that hold capacity. */
  above(priority: number): string {
    const names: string[] = [];
    let more = false;
    for (const level of this.levels) {
      if (level.priority >= priority) break;
      names.push(...level.names);
      more ||= level.more;
    }
    if (names.length === 0) return '';
    return ` for ${names.slice(0, 3).join(', ')}${more || names.length > 3 ? ', …' : ''}`;
  }
}

/** The reason for a change of desired replicas, or undefined when nothing changed and nothing is wrong. */
function explainChange(
  s: ServicePolicy,
  f: Fact,
  claims: Claims,
  i: number,
  desired: number,
  takers: Takers,
): Reason | undefined {
  const from = f.current;
  const wanted = claims.target(i);
  if (desired === from) return f.error === undefined ? undefined : { cause: 'hold', text: why(s, f) };
  const arrow = `${s.name} ${from}→${desired}`;
  const need = claims.need[i] as number;
  if (desired > from) {
    const capped = desired < wanted ? `, capacity allows ${desired} of ${wanted}` : '';
    if (claims.remainder[i]) return { cause: 'remainder', text: `scale up ${arrow}: remainder${capped}` };
    const cause = need < (claims.min[i] as number) ? 'min' : 'scale-up';
    return { cause, text: `scale up ${arrow}: need ${wanted} (${why(s, f)})${capped}` };
  }
  if (desired < wanted) {
    // Capacity went to higher priorities: name them.
    return {
      cause: 'preempt',
      text: `preempted ${s.name} ×${from - desired}${takers.above(s.priority)}: ${arrow}`,
    };
  }
  const cause = need > (claims.max[i] as number) ? 'max' : 'scale-down';
  if (Number.isFinite(f.need) && f.need < wanted) {
    const now = `now ${f.need}: ${why(s, f)}`;
    return {
      cause,
      text: `scale down ${arrow}: need ${wanted} within the last ${s.scaleDownWindowMs / 1000}s (${now})`,
    };
  }
  return { cause, text: `scale down ${arrow}: need ${wanted} (${why(s, f)})` };
}
