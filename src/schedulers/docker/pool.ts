// Carrying out one call's pool plan (../pool-plan.ts) on docker: thaws and freezes awaited, stops and removals, cold and warm starts.
import type { RunSpec } from '../../core/types.js';
import { DockerUnreachableError } from '../../infra/docker-api.js';
import type { PoolPlan } from '../pool-plan.js';
import type { Lifecycle } from './lifecycle.js';
import type { Pauses } from './pause.js';
import type { Replica } from './replica.js';
import type { DockerState } from './state.js';

/** The parts a plan is carried out with. */
export interface PoolParts {
  readonly state: DockerState;
  readonly lifecycle: Lifecycle;
  readonly pauses: Pauses;
}

/**
 * Thaws and freezes are awaited (each says whether its replica is still there), surplus is stopped in the
 * background, frozen ones removed are awaited until gone; a frozen replica that could not be thawed is
 * replaced by a cold start. Throws when the engine is unreachable and there is something to do.
 */
export async function carryOutPlan(
  { state, lifecycle, pauses }: PoolParts,
  service: string,
  run: RunSpec,
  plan: PoolPlan<Replica>,
  reason: string,
): Promise<void> {
  const acts = {
    thaw: plan.thaw.length,
    freeze: plan.freeze.length,
    stop: plan.stop.length,
    remove: plan.remove.length,
  };
  const changes = plan.keep.length + plan.takeOver.length + plan.cold + plan.warm;
  if (state.down && acts.thaw + acts.freeze + acts.stop + acts.remove + changes > 0) {
    throw new DockerUnreachableError(`docker engine unreachable: ${state.down.error}`);
  }
  // Thaws and freezes, awaited; each says whether the replica is still there.
  const waits: Promise<boolean>[] = [];
  const removals: Promise<void>[] = [];
  // Containers still in a freeze notice's grace first: they run, and are simply not paused.
  for (const r of plan.keep) pauses.adoptWarming(r);
  for (const r of plan.thaw) waits.push(pauses.thaw(r));
  for (const r of plan.takeOver) pauses.adoptWarming(r);
  for (const r of plan.freeze) {
    if (r.state === 'running') waits.push(pauses.freeze(r));
    else r.state = r.paused ? 'frozen' : 'warming'; // still being made (or thawed): paused once it runs
  }
  for (const r of plan.stop) lifecycle.stop(r);
  for (const r of plan.remove) {
    const paused = r.state === 'frozen';
    lifecycle.stop(r);
    // A frozen one counts as frozen until gone; the call resolves once it is (a forced removal is quick),
    // so that no later call takes it for one that can still be thawed.
    if (paused) removals.push(r.work);
  }
  if (acts.thaw + acts.freeze + acts.stop + acts.remove > 0) {
    const what = Object.entries(acts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    state.ctx.logger.log('info', `${service}: ${what}`, { service, reason });
    state.notify(service);
  }
  let refused: unknown;
  try {
    if (plan.cold > 0) lifecycle.launch(service, run, plan.cold, 'starting', reason);
    if (plan.warm > 0) lifecycle.launch(service, run, plan.warm, 'warming', reason);
  } catch (error) {
    refused = error;
  }
  const [thawed] = await Promise.all([Promise.all(waits), Promise.all(removals)]);
  const lost = thawed.filter((ok) => !ok).length;
  // A frozen replica that could not be thawed (killed while frozen): start another in its place.
  if (lost > 0 && refused === undefined) {
    try {
      lifecycle.launch(
        service,
        run,
        lost,
        'starting',
        `${reason} (replacing ${lost} lost frozen replica(s))`,
      );
    } catch (error) {
      refused = error;
    }
  }
  if (refused !== undefined) throw refused;
}
