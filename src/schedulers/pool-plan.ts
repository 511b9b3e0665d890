// What a back-end that freezes does to converge one service to its active target and its warm pool: which
// replicas to thaw, freeze, stop or remove, and how many to start cold or warm. Pure: the back-end carries
// it out (docker: pause and unpause; process: SIGSTOP and SIGCONT), and the port's rules live here once.
import type { ReplicaState } from './replica-counts.js';

/** What the plan needs to know of one replica (a back-end passes its own records). */
export interface PoolMember {
  readonly state: ReplicaState;
  /** Frozen and its freeze has taken effect (not only chosen, or in flight); read only by 'paused-first'. */
  readonly paused?: boolean;
}

export interface PoolOptions<R> {
  readonly order?: PoolOrder;
  /**
   * Whether a warming replica was told of its freeze and is still in the notice's grace: it still runs, so
   * keeping it is the quickest way to one more active replica. None is, where absent.
   */
  readonly noticed?: (r: R) => boolean;
}

/** Where the back-ends choose differently; docker's choice is the default (DOCKER_ORDER). */
export interface PoolOrder {
  /** Which frozen replicas a scale-up thaws: those already paused first (then newest), or the oldest. */
  readonly thaw: 'paused-first' | 'oldest-first';
  /** Which surplus active replicas go to the pool (the others stop): running ones first (then newest), or the oldest. */
  readonly freeze: 'running-first' | 'oldest-first';
  /** Whether a scale-up takes over warming replicas (not in a notice's grace) before starting cold ones. */
  readonly takeOverWarming: boolean;
}

export const DOCKER_ORDER: PoolOrder = {
  thaw: 'paused-first',
  freeze: 'running-first',
  takeOverWarming: true,
};

/**
 * The process back-end's choice: a thaw resumes the replica that has done the most work, the oldest of the
 * surplus freeze (the newest stop), and a warming replica is never taken over (it is frozen once it runs).
 */
export const PROCESS_ORDER: PoolOrder = {
  thaw: 'oldest-first',
  freeze: 'oldest-first',
  takeOverWarming: false,
};

export interface PoolPlan<R> {
  /** Noticed warming replicas that become active: their freeze is called off. */
  readonly keep: readonly R[];
  readonly thaw: readonly R[];
  /** Warming replicas (not in a grace) that become active: they run once started, unpaused if need be. */
  readonly takeOver: readonly R[];
  /** Surplus active replicas that join the pool. */
  readonly freeze: readonly R[];
  /** Surplus active replicas stopped. */
  readonly stop: readonly R[];
  /** Pool replicas beyond the pool's target, removed without a thaw: warming ones first, then newest. */
  readonly remove: readonly R[];
  /** Active replicas to start. */
  readonly cold: number;
  /** Replicas to start and freeze once they run (refill the pool). */
  readonly warm: number;
}

const byPausedFirst = (a: PoolMember, b: PoolMember) => Number(b.paused === true) - Number(a.paused === true);
const byRunningFirst = (a: PoolMember, b: PoolMember) =>
  Number(b.state === 'running') - Number(a.state === 'running');
const byWarmingFirst = (a: PoolMember, b: PoolMember) =>
  Number(b.state === 'warming') - Number(a.state === 'warming');

/**
 * `replicas` are one service's, newest first (stopping ones are ignored: they are going already). With
 * `frozen` undefined the pool is left as it is: surplus active replicas stop (newest first), missing ones
 * start. With a `frozen` target (counting warming ones), the port's rules (core/ports.ts, FreezingScheduler):
 * - more active wanted: keep noticed warming replicas, thaw frozen ones, take over warming ones, then start
 *   cold what is still missing;
 * - fewer active: freeze surplus while the pool is short of its target, stop the rest;
 * - then the pool against its target: remove the excess without a thaw, or start warm ones to refill it.
 */
export function planPool<R extends PoolMember>(
  replicas: readonly R[],
  active: number,
  frozen: number | undefined,
  options: PoolOptions<R> = {},
): PoolPlan<R> {
  const order = options.order ?? DOCKER_ORDER;
  const noticed = options.noticed ?? (() => false);
  const live = replicas.filter((r) => r.state === 'starting' || r.state === 'running');
  const pool = replicas.filter((r) => r.state === 'frozen' || r.state === 'warming');
  const plan = { keep: [] as R[], thaw: [] as R[], takeOver: [] as R[], freeze: [] as R[], stop: [] as R[] };
  let missing = active - live.length;
  if (frozen === undefined) {
    if (missing < 0) plan.stop = live.slice(0, -missing);
    return { ...plan, remove: [], cold: Math.max(0, missing), warm: 0 };
  }
  if (missing > 0) {
    const take = (from: readonly R[], into: R[]) => {
      const taken = from.slice(0, missing);
      into.push(...taken);
      missing -= taken.length;
    };
    // Noticed ones first: they run, and are simply not frozen.
    take(
      pool.filter((r) => r.state === 'warming' && noticed(r)),
      plan.keep,
    );
    const frozenOnes = pool.filter((r) => r.state === 'frozen');
    take(order.thaw === 'paused-first' ? frozenOnes.sort(byPausedFirst) : frozenOnes.reverse(), plan.thaw);
    if (order.takeOverWarming) {
      take(
        pool.filter((r) => r.state === 'warming' && !noticed(r)),
        plan.takeOver,
      );
    }
  } else if (missing < 0) {
    const surplus = live.slice(0, -missing);
    const room = Math.max(0, frozen - pool.length);
    if (order.freeze === 'running-first') {
      surplus.sort(byRunningFirst);
      plan.freeze = surplus.slice(0, room);
      plan.stop = surplus.slice(room);
    } else {
      // The oldest of the surplus (the end of the list) go to the pool; the newest stop.
      const cut = Math.max(0, surplus.length - room);
      plan.stop = surplus.slice(0, cut);
      plan.freeze = surplus.slice(cut);
    }
    missing = 0;
  }
  const taken = new Set<R>([...plan.keep, ...plan.thaw, ...plan.takeOver]);
  const left = pool.filter((r) => !taken.has(r));
  const size = left.length + plan.freeze.length;
  const remove = size > frozen ? left.sort(byWarmingFirst).slice(0, size - frozen) : [];
  return { ...plan, remove, cold: missing, warm: Math.max(0, frozen - size) };
}
