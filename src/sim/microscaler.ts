import { Controller, decide, NO_CALLS, type PendingReason } from '../controller/index.js';
import type { Logger, Source } from '../core/ports.js';
import type { Capacity, Observed, Plan, SourceResult } from '../core/types.js';
import { EMPTY_MEMORY, type PlannerMemory, plan } from '../planner/index.js';
import { type PlanHook, type PressureSettings, pressureRules } from './pressure-rules.js';
import type { Policy, SimContext, SimService } from './setup.js';
import { SimScheduler } from './sim-scheduler.js';
import { SimSource } from './sim-source.js';
import { VirtualClock } from './virtual-clock.js';

const quiet: Logger = { log() {} };

/** Turns of the microtask queue without a call to the back-end after which the controller counts as idle. */
const QUIET_TURNS = 32;
/** Steps between real event-loop turns (the controller's reads race a setImmediate each tick). */
const YIELD_EVERY = 1024;

/**
 * Lets the promise chains the controller started (scale calls, the reconciles after them) run to the end, at
 * the same simulated time. An event-loop turn per step (setImmediate) would cost more than the rest of the step,
 * so this turns the microtask queue until the back-end has seen no call for QUIET_TURNS turns: every chain of
 * the controller reaches the back-end within a few turns. Deterministic: the same turns in every run.
 */
async function settle(scheduler: SimScheduler): Promise<void> {
  let seen = scheduler.activity;
  for (let quiet = 0; quiet < QUIET_TURNS; ) {
    await null;
    if (scheduler.activity === seen) quiet++;
    else {
      seen = scheduler.activity;
      quiet = 0;
    }
  }
}

/**
 * microscaler through its real Controller (and so its planner and admission) on a virtual clock, with the
 * simulated back-end behind the Scheduler port and the replayed demand behind the Source port. The
 * controller's tick() runs every `intervalMs`; finished starts and stops reach it through watch(), as they do
 * from a real back-end, so freed capacity is used within the same step.
 */
export function controllerPolicy(ctx: SimContext): Policy {
  const { setup } = ctx;
  const clock = new VirtualClock(0);
  const now = () => clock.now();
  const scheduler = new SimScheduler(ctx.store, now);
  const sources = new Map<string, Source>();
  setup.services.forEach((s, i) => {
    if (s.demand && (s.rule.type === 'queue' || s.rule.type === 'target')) {
      sources.set(s.name, new SimSource(ctx, i, now));
    }
  });
  const controller = new Controller({
    name: 'simulated',
    capacity: { replicas: setup.capacity },
    intervalMs: setup.intervalMs,
    readTimeoutMs: setup.readTimeoutMs,
    services: setup.services,
    sources,
    scheduler,
    clock,
    logger: quiet,
  });
  const every = Math.max(1, Math.round(setup.intervalMs / setup.stepMs));
  let dirty = false;
  return {
    changed(i) {
      scheduler.changed(i);
      dirty = true;
    },
    async step(time, k) {
      clock.set(time);
      if (k % every === 0) {
        await controller.tick();
        dirty = true;
      }
      if (dirty) {
        dirty = false;
        await settle(scheduler);
      }
      if (k % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/**
 * microscaler, fast: the controller's loop followed step by step with its own pure parts, plan() and
 * decide(), and none of its promises (a day of 100 ms ticks is 864,000 of them). The semantics are the
 * controller's, given a back-end that accepts scale calls at once and shows them in the next observation
 * (so no call is ever in flight or unseen: NO_CALLS), never fails (nothing held), and does not freeze. Each
 * tick reads every source, observes, plans and decides; a finished start or stop decides again with the
 * last plan (watch()). A test runs both on the same trace and expects the same scores.
 */
export function microscalerPolicy(ctx: SimContext): Policy {
  return fastMicroscaler(ctx, ctx.nodes ? pressureRules(ctx.nodes, ctx.setup.services) : undefined);
}

/** microscaler on a cluster of nodes with pressure settings of its own. */
export function microscalerWith(settings: PressureSettings): (ctx: SimContext) => Policy {
  return (ctx) =>
    fastMicroscaler(ctx, ctx.nodes ? pressureRules(ctx.nodes, ctx.setup.services, settings) : undefined);
}

/** microscaler on a cluster's nodes without asking for more or fewer (a fixed fleet). */
export function fleetMicroscaler(ctx: SimContext): Policy {
  return fastMicroscaler(ctx, undefined);
}

/**
 * The fast loop; `afterPlan` sees every tick's plan and the capacity it was made for (on a cluster of nodes,
 * the pressure rules that ask for nodes). The capacity is the nodes' in force, read every tick.
 */
function fastMicroscaler(ctx: SimContext, afterPlan: PlanHook | undefined): Policy {
  const { setup, store, nodes } = ctx;
  const services = setup.services;
  const fixed = { replicas: setup.capacity };
  const inForce = (): Capacity => (nodes ? { replicas: nodes.capacity() } : fixed);
  const names = new Set(services.map((s) => s.name));
  const index = new Map(services.map((s, i) => [s.name, i]));
  const every = Math.max(1, Math.round(setup.intervalMs / setup.stepMs));
  const readers = services.map((s, i) =>
    s.demand && (s.rule.type === 'queue' || s.rule.type === 'target')
      ? new SimSource(ctx, i, () => 0)
      : undefined,
  );
  const readings = new Map<string, SourceResult>();
  // Reasons only pick the text of a call, which the simulated back-end ignores.
  const pending = new Map<string, PendingReason>();
  let memory: PlannerMemory = EMPTY_MEMORY;
  let last: Plan | undefined;
  let changed = false;

  const observe = (): Map<string, Observed> => {
    const out = new Map<string, Observed>();
    for (let i = 0; i < services.length; i++) {
      out.set((services[i] as SimService).name, {
        running: store.ready[i] as number,
        starting: store.startingCount(i),
        stopping: store.stoppingCount(i),
      });
    }
    return out;
  };

  const reconcile = (now: number, observed: ReadonlyMap<string, Observed>) => {
    if (!last) return;
    const capacity = inForce();
    const { calls } = decide({
      plan: last,
      observed,
      now,
      ledger: NO_CALLS,
      held: never,
      services,
      names,
      capacity,
      freezing: false,
      pending,
      keepRemoved: false,
    });
    for (const c of calls) store.scaleTo(index.get(c.service) as number, c.replicas, now);
  };

  return {
    changed() {
      changed = true;
    },
    step(now, k) {
      if (changed) {
        changed = false;
        reconcile(now, observe());
      }
      if (k % every !== 0) return;
      for (let i = 0; i < services.length; i++) {
        const r = readers[i];
        if (r) readings.set((services[i] as SimService).name, r.readAt(now));
      }
      const observed = observe();
      const capacity = inForce();
      const result = plan({ now, capacity, services, readings, observed }, memory);
      memory = result.memory;
      last = result.plan;
      reconcile(now, observed);
      afterPlan?.(now, capacity, last);
    },
  };
}

const never = () => false;
