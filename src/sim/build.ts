import { byPriorityThenName } from '../core/order.js';
import type { ServiceSpec } from '../core/types.js';
import { DemandReplay, type TraceColumn } from './demand.js';
import type { NodeSetup } from './nodes.js';
import { DOCKER_START, DOCKER_STOP, type Duration } from './random.js';
import type { SimService, SimSetup } from './setup.js';
import { impliedRate } from './simulation.js';

export interface BuildInput {
  readonly capacity: number;
  readonly intervalMs: number;
  readonly readTimeoutMs: number;
  readonly services: readonly ServiceSpec[];
  /** Per service that replays a trace: its column and how fast to replay it. */
  readonly demand: ReadonlyMap<string, { readonly column: TraceColumn; readonly timeScale: number }>;
  readonly targetDelayMs?: number;
  readonly startUp?: Duration;
  readonly stop?: Duration;
  readonly seed?: number;
  /** Cuts the run short (simulated ms); default: until the longest replayed column ends. */
  readonly durationMs?: number;
  /** A cluster of nodes (capacity is then its most: max × size). */
  readonly nodes?: NodeSetup;
}

/** The simulator's time step: microscaler's interval, at most 100 ms (every peer's period is a multiple). */
export function stepFor(intervalMs: number): number {
  return Math.min(100, intervalMs);
}

/** Turns a config's services and the replayed columns into a run's setup. */
export function buildSetup(input: BuildInput): SimSetup {
  const services: SimService[] = input.services
    .map((s): SimService => {
      const d = input.demand.get(s.name);
      const replay =
        d && (s.rule.type === 'queue' || s.rule.type === 'target')
          ? new DemandReplay(d.column, d.timeScale)
          : undefined;
      return { ...s, demand: replay, perReplicaRate: impliedRate(s.rule, replay) };
    })
    .sort(byPriorityThenName);
  const longestMs = Math.max(0, ...services.map((s) => s.demand?.durationMs ?? 0));
  return {
    capacity: input.capacity,
    services,
    durationMs: input.durationMs ?? longestMs,
    stepMs: stepFor(input.intervalMs),
    targetDelayMs: input.targetDelayMs ?? 2000,
    startUp: input.startUp ?? DOCKER_START,
    stop: input.stop ?? DOCKER_STOP,
    seed: input.seed ?? 1,
    intervalMs: input.intervalMs,
    readTimeoutMs: input.readTimeoutMs,
    ...(input.nodes ? { nodes: input.nodes } : {}),
  };
}
