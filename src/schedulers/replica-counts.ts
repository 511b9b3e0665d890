// The states a replica of a back-end that freezes (docker, process) goes through, and how replicas add up to
// each service's `Observed`: the one count both back-ends report, so the planner sees them alike.
import type { Observed } from '../core/types.js';

/**
 * starting, running: active. warming: being started (or told of its freeze, or being frozen) to join the warm
 * pool: it holds a whole replica's capacity until it is frozen. frozen: paused, memory only. stopping: going.
 */
export type ReplicaState = 'starting' | 'running' | 'stopping' | 'warming' | 'frozen';

export type Counts = Record<ReplicaState, number>;

/** Where one replica counts, as its back-end judges it. */
export interface Tally {
  readonly service: string;
  /** Not always its state: a frozen one being removed still counts as frozen, a pause in flight as running. */
  readonly as: ReplicaState;
  /** Warming and told of its freeze, still in the notice's grace: a scale-up takes it back (admit-frozen.ts). */
  readonly noticed: boolean;
}

const zero = (): Counts => ({ starting: 0, running: 0, stopping: 0, warming: 0, frozen: 0 });

/**
 * Every configured service (none of its replicas: all zero), then any other service a replica still belongs
 * to (one no longer in the config: its replicas hold capacity all the same). `pool: 'always'` reports
 * frozen and warming even when 0; `'when-any'` leaves them out then, so a service that never freezes looks
 * as it always did. `noticed` is there only when some are.
 */
export function countReplicas<R>(
  services: readonly string[],
  replicas: Iterable<R>,
  tally: (r: R) => Tally,
  pool: 'always' | 'when-any',
): Map<string, Observed> {
  const counts = new Map<string, Counts>();
  const noticed = new Map<string, number>();
  for (const name of services) counts.set(name, zero());
  for (const r of replicas) {
    const t = tally(r);
    let c = counts.get(t.service);
    if (!c) {
      c = zero();
      counts.set(t.service, c);
    }
    c[t.as]++;
    if (t.noticed) noticed.set(t.service, (noticed.get(t.service) ?? 0) + 1);
  }
  const out = new Map<string, Observed>();
  for (const [name, { starting, running, stopping, warming, frozen }] of counts) {
    const n = noticed.get(name);
    out.set(name, {
      running,
      starting,
      stopping,
      ...(pool === 'always' || frozen > 0 ? { frozen } : {}),
      ...(pool === 'always' || warming > 0 ? { warming } : {}),
      ...(n !== undefined ? { noticed: n } : {}),
    });
  }
  return out;
}
