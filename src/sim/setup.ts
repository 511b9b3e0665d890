import type { ServicePolicy } from '../core/types.js';
import type { DemandReplay } from './demand.js';
import type { NodePool, NodeSetup } from './nodes.js';
import type { Duration } from './random.js';
import type { ReplicaStore } from './replicas.js';
import type { WorkModel } from './work.js';

/** A service as the simulator runs it: its policy, plus the demand it replays and how fast a replica serves. */
export interface SimService extends ServicePolicy {
  /** Replayed demand; undefined for services without a signal (remainder, fixed). */
  readonly demand: DemandReplay | undefined;
  /** Units a ready replica serves per simulated second (0 for services without demand). */
  readonly perReplicaRate: number;
}

/** One run's conditions, the same for every policy. */
export interface SimSetup {
  /** Replicas that fit. The simulator counts replicas only (not cpu or memory). */
  readonly capacity: number;
  /** Sorted by priority, then name. */
  readonly services: readonly SimService[];
  /** Simulated time the run lasts. */
  readonly durationMs: number;
  /** The simulator's time step: the finest tick of any policy. */
  readonly stepMs: number;
  /** Units served later than this after arriving count as late. */
  readonly targetDelayMs: number;
  readonly startUp: Duration;
  readonly stop: Duration;
  readonly seed: number;
  /** microscaler's own settings. */
  readonly intervalMs: number;
  readonly readTimeoutMs: number;
  /** A cluster of nodes: the capacity in force is the ready nodes' (`capacity` is then its most). */
  readonly nodes?: NodeSetup;
}

/** What a policy may look at and act on during a run. */
export interface SimContext {
  readonly setup: SimSetup;
  readonly store: ReplicaStore;
  readonly work: WorkModel;
  /** The nodes, when the setup has them. */
  readonly nodes?: NodePool;
}

/** A scaling policy under test: microscaler, a peer, a static split or the oracle. */
export interface Policy {
  /** Runs at every step, before the work of that step: reads what it needs and acts on the replicas. */
  step(now: number, k: number): void | Promise<void>;
  /** Called when starts or stops of service i finished at this step, before step(). */
  changed?(i: number): void;
}

export type PolicyFactory = (ctx: SimContext) => Policy;

/**
 * The signal every policy scales on, in replicas' worth of work (the rule's need before rounding up):
 * for a `queue` rule (arrival rate + backlog / drainSeconds) / perReplicaRate; for a `target` rule
 * value / perReplica. 0 for services without demand.
 */
export function load(ctx: SimContext, i: number, now: number): number {
  const s = ctx.setup.services[i] as SimService;
  if (!s.demand) return 0;
  if (s.rule.type === 'queue') {
    const backlog = ctx.work.backlog[i] as number;
    return (s.demand.rate(now) + backlog / s.rule.drainSeconds) / s.rule.perReplicaRate;
  }
  if (s.rule.type === 'target') return s.demand.value(now) / s.rule.perReplica;
  return 0;
}
