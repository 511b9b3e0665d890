// Counters and histograms the controller keeps for /metrics. Plain numbers: rendering them as Prometheus
// text is the API's business.

import type { Reason, ReasonCause } from '../core/types.js';

/** A cumulative histogram with fixed upper bounds, as Prometheus expects. */
export class Histogram {
  readonly bounds: readonly number[];
  /** counts[i]: observations ≤ bounds[i] (not cumulative; the renderer sums them). The last is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] as number)))) {
      throw new RangeError('histogram bounds must be finite and increasing');
    }
    this.bounds = bounds;
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** Tick durations: a tick takes well under a millisecond when sources answer at once, up to an interval when not. */
export const TICK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** From a change of desired to the service running exactly that: sub-second for processes, seconds for containers. */
export const REACH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

/** Why replicas were started or stopped, in a few words fit for a metric label. */
export type ScaleCause = 'demand' | 'remainder' | 'preemption' | 'replacement' | 'correction' | 'exit';

/** Each reason's metric label: the labels predate causes and stay as they were. */
const SCALE_CAUSES: Readonly<Record<ReasonCause, ScaleCause>> = {
  'scale-up': 'demand',
  min: 'demand',
  'scale-down': 'demand',
  max: 'demand',
  remainder: 'remainder',
  preempt: 'preemption',
  replace: 'replacement',
  exit: 'exit',
  hold: 'correction',
  refill: 'correction',
  'remove-frozen': 'correction',
  'above-plan': 'correction',
  removed: 'correction',
};

export function scaleCause(reason: Reason): ScaleCause {
  return SCALE_CAUSES[reason.cause];
}

export interface ServiceMetrics {
  /** Failed or timed-out source reads. */
  sourceErrors: number;
  /** Scale calls the back-end rejected. */
  scaleErrors: number;
  /** Scale calls that did not settle within the controller's scale timeout (abandoned, then retried). */
  scaleTimeouts: number;
  /** Scale calls, keyed `${direction} ${cause}` (direction up or down). */
  readonly scaleActions: Map<string, number>;
  /** Seconds from the service leaving its desired count (a new plan, a crash) to running it again. */
  readonly timeToDesired: Histogram;
}

export interface ControllerMetrics {
  readonly tickSeconds: Histogram;
  /** Observations of the back-end that failed or did not answer in time. */
  readonly observeErrors: number;
  readonly services: ReadonlyMap<string, ServiceMetrics>;
  /** Requests to the autoscale target, by `direction outcome` (e.g. `out taken`, `in failed`). */
  readonly autoscaleRequests?: ReadonlyMap<string, number>;
}

export function newServiceMetrics(): ServiceMetrics {
  return {
    sourceErrors: 0,
    scaleErrors: 0,
    scaleTimeouts: 0,
    scaleActions: new Map(),
    timeToDesired: new Histogram(REACH_BUCKETS),
  };
}
