// Replicas of services that are no longer in the config (renamed or deleted while they ran): the back-end
// still reports them, they still hold real capacity, and, unless the user keeps them, they are stopped.
import type { Capacity, Observed } from '../core/types.js';
import type { FrozenAdmitService } from '../planner/index.js';

/** A service the back-end reports that the config does not have, and what of it is still there. */
export interface RemovedService {
  readonly name: string;
  /** Replicas that run or start, frozen or warming included: what a stop call has to end. */
  readonly active: number;
  /** Everything that still holds capacity, stopping replicas included. */
  readonly holding: number;
}

/** The observed services that are not configured, with something left of them, in name order. */
export function removedServices(
  observed: ReadonlyMap<string, Observed>,
  configured: ReadonlySet<string>,
): RemovedService[] {
  const out: RemovedService[] = [];
  for (const name of observed.keys()) {
    if (configured.has(name)) continue;
    const o = observed.get(name) as Observed;
    const active = o.running + o.starting + (o.frozen ?? 0) + (o.warming ?? 0);
    const holding = active + o.stopping;
    if (holding > 0) out.push({ name, active, holding });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A removed service as admission sees it: everything it has counts as stopping (it takes capacity, and is
 * never grown nor given a frozen target). Its cpu and memory are unknown (the config that said them is
 * gone), so it counts in replicas only.
 */
export function removedAdmission(r: RemovedService): FrozenAdmitService {
  return {
    name: r.name,
    priority: Number.MAX_SAFE_INTEGER,
    resources: { cpu: 0, memory: 0 },
    desired: 0,
    need: 0,
    warm: 0,
    preempt: 'stop',
    observed: { running: 0, starting: 0, stopping: r.holding },
  };
}

/**
 * The capacity the planner shares out: kept removed replicas (`--keep-removed`) hold theirs for good, so it
 * is taken off; replicas being stopped hold theirs only until they are gone, which admission waits for.
 */
export function capacityLeft(capacity: Capacity, kept: readonly RemovedService[]): Capacity {
  if (kept.length === 0) return capacity;
  const held = kept.reduce((sum, r) => sum + r.holding, 0);
  return { ...capacity, replicas: Math.max(0, capacity.replicas - held) };
}
