/** How well one policy did on one run; docs/simulator.md defines each. */
export interface Scores {
  /** Priority-1 units that waited longer than the target delay, as a fraction of those that arrived. */
  readonly p1LateWork: number;
  /** The largest priority-1 backlog (units, summed over priority-1 services) at any moment. */
  readonly p1MaxBacklog: number;
  /** Busy replica-seconds over capacity-seconds. */
  readonly utilisation: number;
  /** Busy replica-seconds of priority-2 (and lower) services. */
  readonly p2WorkDone: number;
  /** Replica starts plus stops per simulated hour. */
  readonly churnPerHour: number;
  /** The most replicas holding capacity (starting, ready or stopping) above the capacity, at any moment. */
  readonly overshoot: number;
}

/** The scores a run on a cluster of nodes adds. */
export interface NodeScores {
  /** Nodes billed (booting, ready or being removed), integrated over the run, in hours of trace time. */
  readonly nodeHours: number;
  /** The most nodes billed at once. */
  readonly peakNodes: number;
}

export const SCORE_NAMES = [
  'p1LateWork',
  'p1MaxBacklog',
  'utilisation',
  'p2WorkDone',
  'churnPerHour',
  'overshoot',
] as const satisfies readonly (keyof Scores)[];

/** Whether a lower value of the score is better. */
export function lowerIsBetter(name: keyof Scores): boolean {
  return name !== 'utilisation' && name !== 'p2WorkDone';
}

/** a / b, with 0 / 0 = 1 (equal) and x / 0 = Infinity. */
export function ratio(a: number, b: number): number {
  if (b === 0) return a === 0 ? 1 : Number.POSITIVE_INFINITY;
  return a / b;
}
