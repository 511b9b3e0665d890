// decide(): which scale calls to make now, from the plan, what the back-end reports and the calls already
// made. Pure: the controller makes the calls (scale-executor.ts) and tells about them; the simulator's fast
// path calls it too, so that both decide alike.
import {
  type Capacity,
  NONE_OBSERVED,
  type Observed,
  type Plan,
  type Reason,
  type ServicePlan,
  type ServicePolicy,
} from '../core/types.js';
import { type AdmitService, admit, admitFrozen, type FrozenAdmitService } from '../planner/index.js';
import { abovePlan, refilling, removingFrozen, replacing, stoppingRemoved } from './reasons.js';
import { type RemovedService, removedAdmission, removedServices } from './removed.js';
import type { PendingReason } from './time-to-desired.js';

/** What a call asked for: active replicas and, on a back-end that freezes, frozen ones. */
export interface CallTarget {
  readonly target: number;
  readonly frozen?: number;
}

/** The calls already made, read only (CallLedger is one). */
export interface LedgerView {
  /** At most one per service. */
  readonly inFlight: ReadonlyMap<string, CallTarget>;
  /** Settled calls the observation may not show yet. */
  unseenOf(service: string): readonly CallTarget[] | undefined;
  hasUnseen(service: string): boolean;
  /** Whether a call timed out and has not settled yet. */
  hasAbandoned(service: string): boolean;
  /** Whether the service is waiting out a backoff at `now`. */
  waiting(service: string, now: number): boolean;
  /** What the service occupies: what is observed, raised to what abandoned calls asked for. */
  reserve(service: string, observed: Observed): Observed;
}

/** No call made yet: a back-end that accepts calls at once (the simulator's fast path). */
export const NO_CALLS: LedgerView = {
  inFlight: new Map(),
  unseenOf: () => undefined,
  hasUnseen: () => false,
  hasAbandoned: () => false,
  waiting: () => false,
  reserve: (_service, observed) => observed,
};

export interface DecideInput {
  readonly plan: Plan;
  /** What the back-end reported (an observation asked for after every call already counted as seen). */
  readonly observed: ReadonlyMap<string, Observed>;
  readonly now: number;
  readonly ledger: LedgerView;
  /** Whether a service is held after a TerminalError (the caller's check may release the hold). */
  readonly held: (service: string) => boolean;
  /** The policies as the planner sees them (paused services pinned), in config order. */
  readonly services: readonly ServicePolicy[];
  /** The configured names: any other service the back-end reports is a removed one. */
  readonly names: ReadonlySet<string>;
  readonly capacity: Capacity;
  /** Whether the back-end freezes replicas (docker, process). */
  readonly freezing: boolean;
  /** The reason of each service's latest change of desired not reached yet. */
  readonly pending: ReadonlyMap<string, PendingReason>;
  /** Whether replicas of removed services are kept running (`run --keep-removed`). */
  readonly keepRemoved: boolean;
}

/** One scale call to make: `scale(service, replicas, reason, frozen)`, from `active` replicas now. */
export interface ScaleCall {
  readonly service: string;
  readonly replicas: number;
  /** Frozen replicas to keep; undefined on a back-end or service that does not freeze. */
  readonly frozen?: number;
  readonly reason: Reason;
  readonly active: number;
}

/** A removed service the back-end reports: what to tell about it (once), and its stop call, if one is due. */
export interface RemovedNotice {
  readonly service: RemovedService;
  readonly message: string;
  readonly stop?: ScaleCall;
}

export interface Decision {
  /** Calls for configured services. */
  readonly calls: readonly ScaleCall[];
  /** Every removed service the back-end reports, in name order. */
  readonly removed: readonly RemovedNotice[];
}

export function decide(input: DecideInput): Decision {
  const { plan, observed, now, ledger, services, names, freezing } = input;
  const desired = byName(plan.services);
  const items: FrozenAdmitService[] = services.map((s) => {
    const seen = ledger.reserve(s.name, observed.get(s.name) ?? NONE_OBSERVED);
    // A service that does not freeze (no warm pool, preempt: stop) leaves frozen replicas it may have (a
    // pool from an earlier config, a `kill -STOP` from someone) as they are: they count in full, as if
    // stopping, and its calls say nothing of frozen replicas.
    const o = freezes(freezing, s) ? seen : unfrozen(seen);
    const flight = ledger.inFlight.get(s.name);
    const waiting = ledger.waiting(s.name, now);
    const pool = (o.frozen ?? 0) + (o.warming ?? 0);
    // Calls that settled after this observation was asked for may not show in it: the service is left
    // alone, as if the highest of them were still in flight, until an observation shows them.
    const unseen = ledger.unseenOf(s.name);
    let held = flight?.target;
    let heldFrozen = flight?.frozen;
    if (unseen) {
      for (const c of unseen) {
        held = Math.max(held ?? 0, c.target);
        if (c.frozen !== undefined) heldFrozen = Math.max(heldFrozen ?? 0, c.frozen);
      }
    }
    // A service waiting out a backoff, or held after a TerminalError, is left alone, as if a call were in
    // flight for what it has.
    const stuck = input.held(s.name);
    if (held === undefined && (waiting || stuck)) held = o.running + o.starting;
    const planned = desired.get(s.name);
    return {
      name: s.name,
      priority: s.priority,
      resources: s.resources,
      desired: planned?.desired ?? o.running + o.starting,
      // What the rule asks for within min and max: preempt 'freeze' keeps what capacity took frozen.
      need: Math.min(s.max, Math.max(s.min, planned?.need ?? 0)),
      warm: s.warm ?? 0,
      preempt: s.preempt ?? 'stop',
      // A remainder service soaks up what is left: warm pools refill before it grows (never from it).
      soaks: s.rule.type === 'remainder' ? true : undefined,
      observed: o,
      inFlight: held === undefined ? undefined : { replicas: held, frozen: heldFrozen ?? pool },
    } satisfies FrozenAdmitService;
  });
  const removed = removedServices(observed, names);
  for (const r of removed) items.push(removedAdmission(r));
  const admitted = new Map<string, { replicas: number; frozen?: number }>();
  // Without a service that freezes, the plain admission does the same (its frozen replicas, if any, count
  // in full as stopping) for less.
  if (freezing && services.some((s) => freezes(freezing, s))) {
    const policies = new Map(services.map((s) => [s.name, s]));
    for (const [name, t] of admitFrozen(items, input.capacity)) {
      const policy = policies.get(name);
      admitted.set(name, policy && freezes(freezing, policy) ? t : { replicas: t.replicas });
    }
  } else {
    const plain = items.map(plainAdmission);
    for (const [name, replicas] of admit(plain, input.capacity)) admitted.set(name, { replicas });
  }
  // A service with an abandoned call is admitted as if it had what that call asked for. If it runs less,
  // and wants at least that, asking again for exactly that is safe (it is reserved) and is the retry.
  // Admitted counts are relative to what is reserved, so one may equal what really runs: no call then.
  for (const item of items) {
    if (item.inFlight !== undefined || !ledger.hasAbandoned(item.name)) continue;
    const reserved = item.observed.running + item.observed.starting;
    const real = observed.get(item.name) ?? NONE_OBSERVED;
    const active = real.running + real.starting;
    const pool = (real.frozen ?? 0) + (real.warming ?? 0);
    if (!admitted.has(item.name) && active < reserved && item.desired >= reserved)
      admitted.set(item.name, { replicas: reserved, ...(freezes(freezing, item) ? { frozen: pool } : {}) });
    const t = admitted.get(item.name);
    if (t && t.replicas === active && (t.frozen === undefined || t.frozen === pool))
      admitted.delete(item.name);
  }
  const calls: ScaleCall[] = [];
  for (const [name, target] of admitted) {
    if (!names.has(name)) continue; // a removed service is only ever stopped, below
    const o = observed.get(name) ?? NONE_OBSERVED;
    const active = o.running + o.starting;
    const pool = (o.frozen ?? 0) + (o.warming ?? 0);
    const planned = desired.get(name);
    const pending = input.pending.get(name);
    const { replicas, frozen } = target;
    const reason: Reason =
      replicas === active && frozen !== undefined
        ? frozen > pool
          ? refilling(name, pool, frozen)
          : removingFrozen(name, pool - frozen)
        : (planned?.reason ??
          (pending && pending.desired === planned?.desired ? pending.reason : undefined) ??
          (replicas > active ? replacing(name, replicas - active) : abovePlan(name)));
    calls.push({ service: name, replicas, ...(frozen === undefined ? {} : { frozen }), reason, active });
  }
  return { calls, removed: removed.map((r) => removedNotice(input, r)) };
}

/**
 * What to tell about a removed service, and its stop call unless it is kept. One call at a time per service,
 * and none while a backoff waits or a settled call may not show yet.
 */
function removedNotice(input: DecideInput, r: RemovedService): RemovedNotice {
  const { ledger, keepRemoved } = input;
  const what = `${r.name} is not in the config: its ${r.holding} replica(s) count against capacity`;
  const message = keepRemoved ? `${what} and are kept running (--keep-removed)` : `${what} until stopped`;
  if (keepRemoved || r.active === 0 || ledger.inFlight.has(r.name) || ledger.hasUnseen(r.name))
    return { service: r, message };
  if (ledger.waiting(r.name, input.now) || input.held(r.name)) return { service: r, message };
  const reason = stoppingRemoved(r.name, r.active);
  const stop: ScaleCall = {
    service: r.name,
    replicas: 0,
    ...(input.freezing ? { frozen: 0 } : {}),
    reason,
    active: r.active,
  };
  return { service: r, message, stop };
}

/** Each service's plan by name (a loop: decide() runs at every tick and replica change). */
function byName(services: readonly ServicePlan[]): Map<string, ServicePlan> {
  const out = new Map<string, ServicePlan>();
  for (const s of services) out.set(s.name, s);
  return out;
}

/** An item as the plain admission sees it: a call in flight asked for active replicas only. */
function plainAdmission(s: FrozenAdmitService): AdmitService {
  return {
    name: s.name,
    priority: s.priority,
    resources: s.resources,
    desired: s.desired,
    observed: s.observed,
    inFlight: s.inFlight?.replicas,
  };
}

/** Whether a service freezes replicas: the back-end can, and it has a warm pool or preempt: freeze. */
function freezes(
  freezing: boolean,
  s: { readonly warm?: number; readonly preempt?: 'stop' | 'freeze' },
): boolean {
  return freezing && ((s.warm ?? 0) > 0 || s.preempt === 'freeze');
}

/** Frozen and warming replicas counted as stopping: in full (replicas, cpu, memory), and never targeted. */
function unfrozen(o: Observed): Observed {
  const pool = (o.frozen ?? 0) + (o.warming ?? 0);
  if (pool === 0) return o;
  return { running: o.running, starting: o.starting, stopping: o.stopping + pool };
}
