import type { DemandReplay } from './demand.js';
import { NodePool } from './nodes.js';
import { QuietSpans } from './quiet-spans.js';
import { longest } from './random.js';
import { ReplicaStore } from './replicas.js';
import type { NodeScores, Scores } from './scores.js';
import type { PolicyFactory, SimContext, SimSetup } from './setup.js';
import { WorkModel } from './work.js';

/** Samples of a run for plotting, at evenly spaced moments. */
export interface Series {
  /** Simulated seconds. */
  readonly t: number[];
  /** Priority-1 demand in replicas' worth (arrival rate / per-replica rate, summed). */
  readonly demand: number[];
  /** Priority-1 replicas starting or ready. */
  readonly p1: number[];
  /** Lower-priority replicas starting or ready. */
  readonly p2: number[];
  /** Priority-1 backlog, units. */
  readonly backlog: number[];
}

export interface SimResult {
  readonly scores: Scores;
  /** On a cluster of nodes (setup.nodes) only. */
  readonly nodes?: NodeScores;
  readonly series: Series;
  /** Totals behind the scores, for tests and reports. */
  readonly totals: {
    readonly p1Arrived: number;
    readonly p1Served: number;
    readonly p1Backlog: number;
    readonly p1Late: number;
    readonly starts: number;
    readonly stops: number;
    readonly steps: number;
  };
}

export interface RunOptions {
  /** About how many samples the series holds (default 1000). */
  readonly samples?: number;
  /** Step over spans where nothing can change in one move (default true; false for comparisons). */
  readonly skipQuiet?: boolean;
}

/**
 * Runs one policy through a setup: at every step, finished starts and stops apply, the policy acts, and the
 * work of the step is done by the replicas then ready. Deterministic for a setup (seed included).
 */
export async function runSimulation(
  setup: SimSetup,
  factory: PolicyFactory,
  options: RunOptions = {},
): Promise<SimResult> {
  const { services, stepMs, capacity } = setup;
  const store = new ReplicaStore(
    services.map((s) => s.name),
    setup.startUp,
    setup.stop,
    setup.seed,
  );
  const work = new WorkModel(services, stepMs, setup.targetDelayMs);
  // A removed node holds its stopping replicas for the longest stop, plus a tick in which to stop them.
  const nodes = setup.nodes
    ? new NodePool(setup.nodes, setup.seed, longest(setup.stop) + setup.intervalMs)
    : undefined;
  const ctx: SimContext = { setup, store, work, ...(nodes ? { nodes } : {}) };
  const policy = factory(ctx);
  const changed = policy.changed?.bind(policy);
  const steps = Math.ceil(setup.durationMs / stepMs - 1e-9);
  const every = Math.max(1, Math.floor(steps / (options.samples ?? 1000)));
  const series: Series = { t: [], demand: [], p1: [], p2: [], backlog: [] };
  const p1 = services.map((s) => s.priority === 1);
  let overshoot = 0;
  /** Replica-ms of capacity in force. */
  let capacityMs = 0;
  const quiet = options.skipQuiet === false ? undefined : new QuietSpans(setup, store, work, nodes);

  for (let k = 0; k < steps; k++) {
    const now = k * stepMs;
    nodes?.advance(now);
    store.advance(now, changed);
    const acting = policy.step(now, k);
    if (acting) await acting;
    const over = store.occupied() - (nodes ? nodes.held() : capacity);
    if (over > overshoot) overshoot = over;
    nodes?.bill(stepMs);
    capacityMs += (nodes ? nodes.capacity() : capacity) * stepMs;
    work.step(k, store.ready);
    if (k % every === 0) sample(series, setup, store, work, p1, now);
    const to = quiet?.after(k, steps) ?? k;
    if (to > k) {
      // Nothing changes until step `to`: its work in one move, its samples as they would have been.
      work.skip(k + 1, to + 1, store.ready);
      nodes?.bill((to - k) * stepMs);
      capacityMs += (nodes ? nodes.capacity() : capacity) * (to - k) * stepMs;
      for (let j = Math.ceil((k + 1) / every) * every; j <= to; j += every) {
        sample(series, setup, store, work, p1, j * stepMs);
      }
      k = to;
    }
  }
  work.finish(steps);

  const seconds = (steps * stepMs) / 1000;
  let arrived = 0;
  let served = 0;
  let backlog = 0;
  let late = 0;
  let busy = 0;
  let p2 = 0;
  let starts = 0;
  let stops = 0;
  services.forEach((s, i) => {
    busy += work.busy[i] as number;
    starts += store.starts[i] as number;
    stops += store.stops[i] as number;
    if (s.priority > 1) p2 += work.busy[i] as number;
    else {
      arrived += work.arrived[i] as number;
      served += work.served[i] as number;
      backlog += work.backlog[i] as number;
      late += work.late[i] as number;
    }
  });
  return {
    scores: {
      // Below a billionth is rounding in the fluid arithmetic, not work that waited.
      p1LateWork: arrived > 0 && late > 1e-9 * arrived ? late / arrived : 0,
      p1MaxBacklog: work.maxP1Backlog,
      utilisation: seconds > 0 ? busy / (nodes ? capacityMs / 1000 : capacity * seconds) : 0,
      p2WorkDone: p2,
      churnPerHour: seconds > 0 ? ((starts + stops) * 3600) / seconds : 0,
      overshoot,
    },
    ...(nodes ? { nodes: { nodeHours: nodes.nodeHours, peakNodes: nodes.peakNodes } } : {}),
    series,
    totals: { p1Arrived: arrived, p1Served: served, p1Backlog: backlog, p1Late: late, starts, stops, steps },
  };
}

function sample(
  series: Series,
  setup: SimSetup,
  store: ReplicaStore,
  work: WorkModel,
  p1: readonly boolean[],
  now: number,
): void {
  let demand = 0;
  let high = 0;
  let low = 0;
  let backlog = 0;
  setup.services.forEach((s, i) => {
    if (p1[i]) {
      high += store.active(i);
      backlog += work.backlog[i] as number;
      if (s.demand && s.perReplicaRate > 0) demand += s.demand.rate(now) / s.perReplicaRate;
    } else low += store.active(i);
  });
  series.t.push(now / 1000);
  series.demand.push(demand);
  series.p1.push(high);
  series.p2.push(low);
  series.backlog.push(backlog);
}

/** The per-replica serving rate a service's rule implies, in units per simulated second. */
export function impliedRate(
  rule: SimSetup['services'][number]['rule'],
  demand: DemandReplay | undefined,
): number {
  if (!demand) return 0;
  if (rule.type === 'queue') return rule.perReplicaRate;
  if (rule.type === 'target') return (rule.perReplica / demand.step) * demand.timeScale;
  return 0;
}
