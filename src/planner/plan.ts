import type {
  Capacity,
  Observed,
  Plan,
  ServicePlan,
  ServicePolicy,
  SourceResult,
} from '../core/types.js';
import { allocate, type Claim } from './allocate.js';
import { explainNeed, ruleNeed } from './need.js';
import { EMPTY_WINDOW, type NeedWindow, pushNeed, windowMax } from './window.js';

export interface PlanInput {
  readonly now: number;
  readonly capacity: Capacity;
  readonly services: readonly ServicePolicy[];
  /** Per service with a source: its latest result. A service without an entry has no signal this tick. */
  readonly readings: ReadonlyMap<string, SourceResult>;
  readonly observed: ReadonlyMap<string, Observed>;
}

/** What the planner remembers between ticks, per service. Treat as opaque and pass back unchanged. */
export interface PlannerMemory {
  readonly services: ReadonlyMap<string, { readonly window: NeedWindow; readonly desired: number }>;
}

export const EMPTY_MEMORY: PlannerMemory = Object.freeze({ services: new Map() });

export interface PlanResult {
  readonly plan: Plan;
  readonly memory: PlannerMemory;
}

/** Orders services the way every decision honours them: priority first, then name. */
export function byPriority(a: ServicePolicy, b: ServicePolicy): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * One decision: the replicas each service should have, with a reason for every change.
 * Pure: the same input and memory give the same plan.
 */
export function plan(input: PlanInput, memory: PlannerMemory): PlanResult {
  const services = [...input.services].sort(byPriority);
  const next = new Map<string, { window: NeedWindow; desired: number }>();
  const claims: Claim[] = [];
  const facts: { value: number | undefined; need: number; why: string; error?: string; current: number }[] = [];

  for (const s of services) {
    const seen = input.observed.get(s.name);
    const active = seen ? seen.running + seen.starting : 0;
    const before = memory.services.get(s.name);
    // Before this instance has decided anything (first tick, or after a restart) what runs is the baseline:
    // the window starts from it, so a restart never scales down before the window has passed.
    const current = before?.desired ?? active;
    const result = needsSignal(s) ? input.readings.get(s.name) : undefined;
    let window = before?.window ?? pushNeed(EMPTY_WINDOW, input.now, current, s.scaleDownWindowMs);
    let need: number;
    let why: string;
    let value: number | undefined;
    let error: string | undefined;

    if (needsSignal(s) && !result?.ok) {
      // No signal: hold what the service has. Never scale to zero (or anywhere) on a missing metric.
      // The window keeps the need from before the failure (or, on first sight, what runs): hold that need,
      // not the last allocation, so capacity contention cannot ratchet a blind service down tick by tick.
      error = result ? result.error : 'no reading yet';
      need = windowMax(window);
      why = `holding need at ${need}: ${error}`;
    } else {
      const reading = result?.ok ? result.reading : undefined;
      value = reading?.value;
      need = ruleNeed(s.rule, reading);
      why = explainNeed(s.rule, reading, need);
      if (Number.isFinite(need)) window = pushNeed(window, input.now, need, s.scaleDownWindowMs);
    }

    const stable = Number.isFinite(need) ? windowMax(window) : need;
    claims.push({
      priority: s.priority,
      min: s.min,
      max: s.max,
      need: stable,
      remainder: s.rule.type === 'remainder',
      cpu: s.resources.cpu,
      memory: s.resources.memory,
    });
    facts.push({ value, need, why, current, ...(error === undefined ? {} : { error }) });
    next.set(s.name, { window, desired: current });
  }

  const alloc = allocate(claims, input.capacity);
  const out: ServicePlan[] = [];
  for (let i = 0; i < services.length; i++) {
    const s = services[i] as ServicePolicy;
    const f = facts[i] as (typeof facts)[number];
    const claim = claims[i] as Claim;
    const desired = alloc[i] as number;
    const entry = next.get(s.name) as { window: NeedWindow; desired: number };
    entry.desired = desired;
    const reason = explainChange(s, f, claim, desired, services, alloc, claims, i);
    out.push({
      name: s.name,
      priority: s.priority,
      value: f.value,
      need: Number.isFinite(f.need) ? f.need : s.max,
      desired,
      ...(reason === undefined ? {} : { reason }),
      ...(f.error === undefined ? {} : { error: f.error }),
    });
  }
  return { plan: { at: input.now, services: out }, memory: { services: next } };
}

function needsSignal(s: ServicePolicy): boolean {
  return s.rule.type === 'target' || s.rule.type === 'queue';
}

/** The reason for a change of desired replicas, or undefined when nothing changed and nothing is wrong. */
function explainChange(
  s: ServicePolicy,
  f: { need: number; why: string; error?: string; current: number },
  claim: Claim,
  desired: number,
  services: readonly ServicePolicy[],
  alloc: readonly number[],
  claims: readonly Claim[],
  index: number,
): string | undefined {
  const from = f.current;
  const target = Math.min(claim.max, Math.max(claim.min, claim.need));
  if (desired === from) return f.error === undefined ? undefined : f.why;
  const arrow = `${s.name} ${from}→${desired}`;
  if (desired > from) {
    const capped = desired < target ? `, capacity allows ${desired} of ${target}` : '';
    const label = claim.remainder ? 'remainder' : `need ${target} (${f.why})`;
    return `scale up ${arrow}: ${label}${capped}`;
  }
  if (desired < target) {
    // Capacity went to higher priorities: name them.
    const takers: string[] = [];
    for (let j = 0; j < index; j++) {
      const other = services[j] as ServicePolicy;
      if (other.priority < s.priority && (alloc[j] as number) > 0) {
        const c = claims[j] as Claim;
        takers.push(`${other.name} (need ${Math.min(c.max, Math.max(c.min, c.need))})`);
      }
    }
    const who = takers.length ? ` for ${takers.slice(0, 3).join(', ')}${takers.length > 3 ? ', …' : ''}` : '';
    return `preempted ${s.name} ×${from - desired}${who}: ${arrow}`;
  }
  if (Number.isFinite(f.need) && f.need < target) {
    return `scale down ${arrow}: need ${target} within the last ${s.scaleDownWindowMs / 1000}s (now ${f.need}: ${f.why})`;
  }
  return `scale down ${arrow}: need ${target} (${f.why})`;
}
