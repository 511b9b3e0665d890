import { byPriorityThenName } from '../core/order.js';
import type { Capacity, Observed, Resources } from '../core/types.js';

/**
 * Replicas of one service as a back-end that can freeze reports them (issue 9). Local until the fields move onto
 * core's Observed; the names are the contract's.
 */
export interface FrozenObserved extends Observed {
  /** Frozen replicas (memory only). A frozen replica being removed must not be reported here (see admitFrozen). */
  readonly frozen?: number;
  /** Replicas being started to join the warm pool: like starting for capacity, not active. */
  readonly warming?: number;
  /** Of the warming ones, those still running in a freeze notice's grace: a scale-up takes them back. */
  readonly noticed?: number;
}

/** One service as admitFrozen sees it. */
export interface FrozenAdmitService {
  readonly name: string;
  readonly priority: number;
  readonly resources: Resources;
  /** Active replicas (running + starting) the plan wants. */
  readonly desired: number;
  /**
   * Active replicas the service would have if capacity were free: its stabilised need clamped to [min, max]
   * (max for a remainder rule). `need - desired` is what capacity took from it.
   */
  readonly need: number;
  /** Frozen replicas to keep ready (the warm pool); 0 when absent. */
  readonly warm?: number;
  /** What happens to replicas a higher priority takes: stopped (default) or frozen. */
  readonly preempt?: 'stop' | 'freeze';
  /**
   * Soaks up whatever is left (a remainder rule): it grows after the warm pools of its priority and higher
   * have refilled, and its waiting does not hold refills back (rule 5).
   */
  readonly soaks?: boolean;
  readonly observed: FrozenObserved;
  /** Set while a scale call for this service is in flight: the active and frozen counts it asked for. */
  readonly inFlight?: { readonly replicas: number; readonly frozen: number };
}

/** What to ask the back-end for: `scaleWithPool(name, { replicas, frozen }, reason)`. */
export interface FrozenTarget {
  /** Active (running + starting) replicas. */
  readonly replicas: number;
  /** Frozen replicas, counting those still warming. */
  readonly frozen: number;
}

// Slack for float sums of cpu (0.1 + 0.2 must fit in 0.3), as in admit and allocate.
const EPS = 1e-9;

/** The working state of one service. */
interface Entry {
  readonly s: FrozenAdmitService;
  readonly cpu: number;
  readonly memory: number;
  /** running + starting */
  readonly active: number;
  readonly stopping: number;
  /** Frozen replicas now: all can be thawed. */
  readonly frozen: number;
  readonly warming: number;
  /** frozen + warming: what the frozen target is compared with. */
  readonly pool: number;
  readonly warm: number;
  readonly flight: boolean;
  /** Replicas in a freeze notice's grace that its growth takes back first, at no cost (rule 3). */
  readonly back: number;
  /** Replicas the service grows by to reach desired beyond those taken back (0 unless growing). */
  readonly grow: number;
  /** Of those, how many its own frozen replicas provide now (thawed in this call, capacity allowing). */
  readonly thawWanted: number;
  /** Of those, how many its own pool provides: frozen ones, and warming ones once frozen (thawed later). */
  readonly ownWanted: number;
  /** The frozen pool the service keeps beyond what it will thaw for itself; lowered by rule 3. */
  spare: number;
  /** Frozen replicas taken from it by rule 3 this call. */
  taken: number;
  /** Whether it took frozen replicas of others this call (rule 3). */
  took: boolean;
}

/** Capacity left: replicas, cpu, memory. */
interface Room {
  replicas: number;
  cpu: number;
  memory: number;
}

function order(a: Entry, b: Entry): number {
  return byPriorityThenName(a.s, b.s);
}

/** Whole replicas of (cpu, memory) each that fit in what is left; memory 0 = not needed. */
function fit(left: Room, cpu: number, memory: number): number {
  let n = Math.max(0, left.replicas);
  if (cpu > 0) n = Math.min(n, Math.floor(left.cpu / cpu + EPS));
  if (memory > 0) n = Math.min(n, Math.floor(left.memory / memory + EPS));
  return Math.max(0, n);
}

/**
 * Admission with frozen (paused) and warm replicas: turns each service's desired active count into the
 * (active, frozen) targets to ask the back-end for now. Pure and deterministic: services are handled by
 * priority, then name, whatever order they come in. Returns the services whose targets change.
 *
 * What the back-end does with a target (the contract's `scaleWithPool(name, { replicas, frozen }, reason)`), which the
 * accounting below relies on:
 * - growing: thaws min(replicas - active, frozen) frozen replicas, cold-starts the rest, in parallel;
 * - shrinking: freezes surplus replicas while frozen + warming < target, stops the others;
 * - then removes frozen (or warming) replicas above the target, without thawing them, or starts
 *   `target - (frozen + warming)` new warming replicas (refill);
 * - a frozen replica being removed is no longer reported as `frozen`: either the call resolves only once it
 *   is gone, or it is reported as `stopping` until then. (Otherwise a thaw asked for could find it gone and
 *   cold-start instead, using memory that is not free.)
 *
 * Rules:
 * 1. Capacity is never exceeded at any instant, assuming the worst of every call. Replicas and cpu count
 *    running + starting + stopping + warming; memory counts that plus frozen. A call in flight for
 *    (replicas R, frozen F) may still reach max(active, R) active and max(warming, F) warming, and hold
 *    max(frozen + warming, F) in its pool. Whatever a call frees (a stop, a freeze, a removal) counts as
 *    freed only once observed.
 * 2. Shrinking: surplus active replicas are frozen instead of stopped while the pool is below keep (rule 4),
 *    i.e. up to the warm pool's room, or, with preempt 'freeze', up to need - desired (what capacity took
 *    from it). The others are stopped.
 * 3. Growing, by priority then name: its own replicas still in a freeze notice's grace (`noticed`, counted
 *    in warming) are taken back first, at no cost (they run and hold all three already; the back-end calls
 *    their freeze off before it thaws anything). Then its own frozen replicas are thawed (a replica and cpu each, no new
 *    memory), then the rest is cold-started (replica, cpu and memory). The back-end thaws every own frozen
 *    replica before cold-starting, so a cold start never happens while own frozen replicas remain. Own
 *    warming replicas count as thaws to come: nothing is cold-started for what they will provide once frozen
 *    (they are as far along as a cold start would be).
 *    Memory for cold starts: looking at the state once everything settles (stopping replicas gone, every
 *    growing service at desired), by priority, each growing service claims the memory of its cold starts.
 *    If the frozen pools leave too little, frozen replicas of OTHER services are removed, lowest priority
 *    first (then last name first), a higher priority's last: a warm pool holds only memory that no replica
 *    the plan wants running needs; but a service that soaks up the rest (remainder) takes only lower
 *    priorities' frozen replicas. Never those a service will thaw for its own desired count. Only as many
 *    are removed as make whole cold starts fit, and
 *    its claim is what then fits (what does not is left to lower priorities, as admit does). Its "own
 *    surplus frozen" never helps: a service that cold-starts uses its whole pool for its own growth.
 *    A removed replica counts until observed gone, so the cold start waits for a later call; meanwhile the
 *    replicas and cpu of the cold starts it waits for are set aside, so that those after it do not take them
 *    (a plain shortage, with nothing removed, sets nothing aside, as admit does).
 * 4. Frozen targets shrink to keep = max(warm, preempt 'freeze' ? need - desired : 0); a growing service
 *    also keeps the frozen (and warming) replicas it still has to thaw to reach desired. Frozen replicas
 *    above that are removed.
 * 5. Refill: only when no service waits (every growing service got all it desired; services that soak up
 *    what is left do not count) and rule 3 removed nothing, the frozen target of a service whose pool
 *    (frozen + warming) is below warm is raised, by priority, into capacity left over now: a replica, cpu
 *    and memory each (a warming replica holds all three until frozen). Pools refill before services that
 *    soak up what is left (remainder) grow, if their priority is the same or higher: otherwise a remainder
 *    service would hold every free replica and no pool could ever warm. A pool never takes a replica a
 *    service already runs.
 * 6. A service with a call in flight is left alone; it is not a victim of rule 3 either.
 */
export function admitFrozen(
  services: readonly FrozenAdmitService[],
  capacity: Capacity,
): Map<string, FrozenTarget> {
  const entries = services.map(entry).sort(order);

  // Rule 1: what occupies capacity now, in the worst case of calls in flight.
  const left = {
    replicas: capacity.replicas,
    cpu: capacity.cpu ?? Number.POSITIVE_INFINITY,
    memory: capacity.memory ?? Number.POSITIVE_INFINITY,
  };
  // Rule 3: the memory left once everything settles, before cold starts.
  let settled = capacity.memory ?? Number.POSITIVE_INFINITY;
  for (const e of entries) {
    let slots: number; // replicas and cpu
    let bytes: number; // memory, in replicas
    if (e.s.inFlight) {
      const { replicas, frozen } = e.s.inFlight;
      slots = Math.max(e.active, replicas) + e.stopping + Math.max(e.warming, frozen);
      bytes = Math.max(e.active, replicas) + e.stopping + Math.max(e.pool, frozen);
      settled -= (replicas + frozen) * e.memory;
    } else {
      slots = e.active + e.stopping + e.warming;
      bytes = slots + e.frozen;
      settled -= (Math.min(e.s.desired, e.active) + e.back + e.ownWanted + e.spare) * e.memory;
    }
    left.replicas -= slots;
    left.cpu -= slots * e.cpu;
    left.memory -= bytes * e.memory;
  }

  // Rule 3, memory: each growing service's cold starts claim settled memory by priority, taking frozen
  // replicas of others (lowest priority first) when the pools leave too little.
  for (const e of entries) {
    if (e.flight || e.memory <= 0) continue;
    const cold = e.grow - e.ownWanted;
    if (cold <= 0) continue;
    const want = cold * e.memory;
    if (settled + EPS < want) settled += take(e, entries, want - settled);
    // What fits is its claim; what does not is no one's (lower priorities may still use the rest).
    settled -= Math.max(0, Math.min(cold, Math.floor(settled / e.memory + EPS))) * e.memory;
  }

  // Rule 3, now, and rule 5. First without room set aside for pools: if a service (other than those that
  // soak up the rest) waits, or rule 3 removed frozen replicas, nothing refills and that is the answer.
  // Otherwise again, with the pools' room set aside before the services that soak up the rest grow; and
  // should that make a service wait after all, the first answer stands.
  const anyTaken = entries.some((e) => e.taken > 0);
  const plain = pass(entries, left, false);
  const answer = plain.waiting || anyTaken ? plain : pass(entries, left, true);
  const chosen = answer.waiting ? plain : answer;

  const out = new Map<string, FrozenTarget>();
  for (const e of entries) {
    const f = chosen.frozen.get(e);
    const replicas = chosen.replicas.get(e);
    if (f === undefined || replicas === undefined) continue;
    if (replicas !== e.active || f !== e.pool) out.set(e.s.name, { replicas, frozen: f });
  }
  return out;
}

interface Pass {
  /** Whether a service that does not soak up the rest waits for capacity. */
  readonly waiting: boolean;
  readonly replicas: Map<Entry, number>;
  readonly frozen: Map<Entry, number>;
}

/**
 * Rule 3, now: thaw, then cold-start, into what is free now, by priority. Rule 4: the frozen targets. Rule 5
 * (when `refill`): pools below warm refill from what is left; before a service that soaks up the rest grows,
 * the pools of the services before it (its priority or higher) have their room set aside.
 */
function pass(entries: readonly Entry[], free: Room, refill: boolean): Pass {
  const left = { ...free };
  const replicas = new Map<Entry, number>();
  const thawed = new Map<Entry, number>();
  const frozen = new Map<Entry, number>();
  const aside = new Map<Entry, number>();
  let waiting = false;
  let soakWaits = false;
  /** What the service keeps frozen beyond its own thaws, plus the own thaws still to come (rule 4). */
  const base = (e: Entry) => e.ownWanted - (thawed.get(e) ?? 0) + e.spare;
  /** What joins the pool at no cost: its surplus frozen rather than stopped, up to warm (rule 2). */
  const costless = (e: Entry) => {
    const after =
      e.pool - e.back - (thawed.get(e) ?? 0) + Math.max(0, e.active - (replicas.get(e) ?? e.active));
    return Math.max(0, Math.min(e.warm, after) - base(e));
  };
  const setAside = (x: Entry) => {
    if (x.flight || x.s.soaks || aside.has(x)) return;
    const n = Math.min(Math.max(0, x.warm - base(x) - costless(x)), fit(left, x.cpu, x.memory));
    use(left, x, n, true);
    aside.set(x, n);
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (e.flight) continue;
    if (refill && e.s.soaks && !waiting && !soakWaits)
      for (let j = 0; j < i; j++) setAside(entries[j] as Entry);
    let thaw = 0;
    let cold = 0;
    if (e.grow > 0) {
      thaw = Math.min(e.thawWanted, fit(left, e.cpu, 0));
      use(left, e, thaw, false);
      if (thaw === e.thawWanted) {
        // Not what its own warming replicas will provide once frozen: they are as far along as a cold start.
        cold = Math.min(e.grow - e.ownWanted, fit(left, e.cpu, e.memory));
        use(left, e, cold, true);
      }
      const short = e.grow - thaw - cold;
      if (short > 0) {
        if (e.s.soaks) soakWaits = true;
        else waiting = true;
        // Set aside the replicas and cpu of cold starts that wait for memory being freed for them.
        if (e.took) use(left, e, Math.min(short, fit(left, e.cpu, 0)), false);
      }
    }
    thawed.set(e, thaw);
    replicas.set(e, e.grow + e.back > 0 ? e.active + e.back + thaw + cold : Math.min(e.active, e.s.desired));
  }
  for (const e of entries) {
    if (e.flight) continue;
    let target = base(e);
    const room = aside.get(e);
    // A pool whose room was set aside refills into it; any other only when no one soaking the rest waits.
    if (refill && target < e.warm && (room !== undefined || !soakWaits)) {
      const gratis = costless(e);
      const paid = Math.min(e.warm - target - gratis, (room ?? 0) + fit(left, e.cpu, e.memory));
      use(left, e, paid - (room ?? 0), true);
      target += gratis + paid;
    }
    frozen.set(e, target);
  }
  return { waiting, replicas, frozen };
}

function entry(s: FrozenAdmitService): Entry {
  const o = s.observed;
  const active = o.running + o.starting;
  const frozen = o.frozen ?? 0;
  const warming = o.warming ?? 0;
  const pool = frozen + warming;
  const warm = s.warm ?? 0;
  const back = Math.min(Math.max(0, s.desired - active), Math.min(warming, o.noticed ?? 0));
  const grow = Math.max(0, s.desired - active - back);
  const thawWanted = Math.min(frozen, grow);
  const ownWanted = Math.min(pool - back, grow);
  const keep = Math.max(warm, s.preempt === 'freeze' ? Math.max(0, s.need - s.desired) : 0);
  // Rules 2 and 4: a shrinking service's surplus joins its pool up to keep; any pool is cut to keep.
  const spare = Math.min(keep, pool - back - ownWanted + Math.max(0, active - s.desired));
  return {
    s,
    cpu: s.resources.cpu,
    memory: s.resources.memory,
    active,
    stopping: o.stopping,
    frozen,
    warming,
    pool,
    warm,
    flight: s.inFlight !== undefined,
    back,
    grow,
    thawWanted,
    ownWanted,
    spare: Math.max(0, spare),
    taken: 0,
    took: false,
  };
}

function use(left: Room, e: Entry, n: number, memory: boolean) {
  if (n <= 0) return;
  left.replicas -= n;
  left.cpu -= n * e.cpu;
  if (memory) left.memory -= n * e.memory;
}

/**
 * Rule 3: removes spare frozen replicas of other services (none in flight), lowest priority and last name
 * first (so a higher priority's pool goes last), to free `short` bytes of settled memory for `e`'s cold starts; no more than
 * lets a whole number of them more fit. Returns the bytes freed.
 */
function take(e: Entry, entries: readonly Entry[], short: number): number {
  const victims = entries
    .filter((v) => v !== e && !v.flight && v.spare > 0 && v.memory > 0)
    // A service soaking up the rest takes only lower priorities' pools: those of its priority and higher
    // refill before it grows (rule 5), and it soaks up what is left, which their memory is not.
    .filter((v) => !e.s.soaks || v.s.priority > e.s.priority)
    .reverse();
  const available = victims.reduce((sum, v) => sum + v.spare * v.memory, 0);
  if (available + EPS < short) {
    // Not enough for all: free only what makes whole replicas of e fit.
    const whole = Math.floor((available - short) / e.memory + EPS); // <= 0: replicas that will not fit
    short += whole * e.memory;
    if (short <= EPS) return 0;
  }
  let freed = 0;
  for (const v of victims) {
    if (freed + EPS >= short) break;
    const n = Math.min(v.spare, Math.ceil((short - freed) / v.memory - EPS));
    v.spare -= n;
    v.taken += n;
    freed += n * v.memory;
  }
  if (freed > 0) e.took = true;
  return freed;
}
