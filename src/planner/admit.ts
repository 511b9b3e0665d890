import { byPriorityThenName } from '../core/order.js';
import type { Capacity, Observed, Resources } from '../core/types.js';

export interface AdmitService {
  readonly name: string;
  readonly priority: number;
  readonly resources: Resources;
  /** What the plan wants. */
  readonly desired: number;
  readonly observed: Observed;
  /** Set while a scale call for this service is in flight: the count it asked for. */
  readonly inFlight?: number;
}

/**
 * Turns desired counts into counts to ask the back-end for now, so that what occupies capacity (running,
 * starting and still-stopping replicas, plus whatever an in-flight call may add) never exceeds it, not even
 * for an instant. Surplus replicas are stopped at once; new ones start only into capacity that is free now,
 * in priority order. Services with a call in flight are left alone. Pure.
 * Returns the services whose count should change, with the count to ask for.
 */
export function admit(services: readonly AdmitService[], capacity: Capacity): Map<string, number> {
  let replicas = capacity.replicas;
  let cpu = capacity.cpu ?? Number.POSITIVE_INFINITY;
  let memory = capacity.memory ?? Number.POSITIVE_INFINITY;
  for (const s of services) {
    const active = s.observed.running + s.observed.starting;
    const held = Math.max(active, s.inFlight ?? 0) + s.observed.stopping;
    replicas -= held;
    cpu -= held * s.resources.cpu;
    memory -= held * s.resources.memory;
  }

  const out = new Map<string, number>();
  const growing: AdmitService[] = [];
  for (const s of services) {
    if (s.inFlight !== undefined) continue;
    const active = s.observed.running + s.observed.starting;
    if (s.desired < active) out.set(s.name, s.desired);
    else if (s.desired > active) growing.push(s);
  }
  growing.sort(byPriorityThenName);
  for (const s of growing) {
    const active = s.observed.running + s.observed.starting;
    let n = Math.min(s.desired - active, Math.max(0, replicas));
    if (s.resources.cpu > 0) n = Math.min(n, Math.floor(cpu / s.resources.cpu + 1e-9));
    if (s.resources.memory > 0) n = Math.min(n, Math.floor(memory / s.resources.memory + 1e-9));
    if (n <= 0) continue;
    replicas -= n;
    cpu -= n * s.resources.cpu;
    memory -= n * s.resources.memory;
    out.set(s.name, active + n);
  }
  return out;
}
