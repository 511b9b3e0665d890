// The controller's options and their defaults.
import type { CapacitySource, Clock, Logger, Scheduler, Source } from '../core/ports.js';
import type { Capacity, ServicePolicy } from '../core/types.js';
import type { PressureOptions } from './pressure-watch.js';

export interface ControllerOptions {
  readonly name: string;
  /** The capacity; with `capacitySource`, only what the snapshot shows until a first reading is taken. */
  readonly capacity: Capacity;
  /**
   * A live capacity (issue 15), read every tick and taken through the guard (capacity-guard.ts): nothing is
   * planned until a first reading is taken, and a failing or implausible one holds the last good value.
   */
  readonly capacitySource?: CapacitySource;
  /** How long a drop below half must last before it is taken; 30 s by default. */
  readonly capacityConfirmMs?: number;
  /** How often the live capacity is read; every tick when absent. */
  readonly capacityEveryMs?: number;
  /** The pressure signals' windows and the autoscale target (docs/capacity.md); signals only by default. */
  readonly pressure?: Partial<PressureOptions>;
  readonly intervalMs: number;
  readonly readTimeoutMs: number;
  readonly services: readonly ServicePolicy[];
  /** Per service that has a signal. */
  readonly sources: ReadonlyMap<string, Source>;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Milliseconds from a fine-grained monotonic clock, for tick durations; performance.now() by default. */
  readonly timer?: () => number;
  /** How many events the live log keeps (GET /api/events replays them); 500 by default. */
  readonly eventHistory?: number;
  /**
   * Whether this instance may act now (high availability: only while it holds the leader lease). Checked
   * before every reconcile and right before every scale call; without it the instance always acts.
   */
  readonly canAct?: () => boolean;
  /**
   * How long the controller waits for one observe() before it counts as failed (the tick then plans
   * nothing, the service counts stay as last seen); 15 s by default. Back-ends bound their own calls (10 s
   * for the cluster APIs): this is the backstop for one that does not, so that a hung back-end cannot
   * freeze the loop.
   */
  readonly observeTimeoutMs?: number;
  /**
   * How long the controller waits for one scale() before it gives up on it, reports it, and retries with
   * backoff; 60 s by default, above the longest a healthy back-end takes (a Marathon deployment lock waits
   * 20 s, then a 10 s call). The abandoned call may still land: until it settles, the replicas it asked
   * for stay reserved, so capacity is never exceeded.
   */
  readonly scaleTimeoutMs?: number;
  /**
   * Replicas of services the back-end reports but the config no longer has (renamed or deleted): stopped,
   * oldest first, by default; kept running when true (`run --keep-removed`). Either way they count against
   * capacity while they hold it.
   */
  readonly keepRemoved?: boolean;
}

export const DEFAULT_OBSERVE_TIMEOUT_MS = 15_000;
export const DEFAULT_SCALE_TIMEOUT_MS = 60_000;

export const DEFAULT_CAPACITY_CONFIRM_MS = 30_000;
