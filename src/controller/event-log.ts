import type { Reason, ReasonCause } from '../core/types.js';

/**
 * What the live stream (SSE, dashboard) shows: core's event kinds, with `scale` split into `start` and
 * `stop`, plan changes that take replicas away for a higher priority as `preempt`, and runtime changes
 * (min, max, priority, pause, resume) as `change`.
 */
export type LiveEventKind =
  | 'plan'
  | 'preempt'
  | 'start'
  | 'stop'
  | 'error'
  | 'recovered'
  | 'change'
  /** The capacity in force changed (live capacity, issue 15): from and to are its replicas. */
  | 'capacity'
  /** A request to the autoscale target for more or fewer machines (issue 15). */
  | 'autoscale';

export interface LiveEvent {
  /** Increases by one per event, from 1, within one controller. */
  readonly id: number;
  readonly kind: LiveEventKind;
  /** ISO 8601. */
  readonly time: string;
  readonly service?: string;
  readonly message: string;
  /** Why, for plan, preempt, start and stop: the reason's text. */
  readonly reason?: string;
  /** What the reason is for (beside `reason`). */
  readonly cause?: ReasonCause;
  /** Replica counts before and after, for start and stop. */
  readonly from?: number;
  readonly to?: number;
}

export type LiveEventInput = Omit<LiveEvent, 'id'>;

/** The last `capacity` events, in order, with listeners for new ones. */
export class EventLog {
  private readonly capacity: number;
  private readonly ring: LiveEvent[] = [];
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private next = 1;

  constructor(capacity = 500) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be an integer ≥ 1');
    this.capacity = capacity;
  }

  append(input: LiveEventInput): LiveEvent {
    const event: LiveEvent = { id: this.next++, ...input };
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) {
      // A failing listener must not stop the others, nor the controller that appends.
      try {
        listener(event);
      } catch {}
    }
    return event;
  }

  /** The id of the newest event, 0 before the first. */
  get lastId(): number {
    return this.next - 1;
  }

  /** Up to `limit` of the newest events with an id above `afterId`, oldest first. */
  recent(limit = this.capacity, afterId = 0): LiveEvent[] {
    const newer = this.ring.filter((e) => e.id > afterId);
    return newer.slice(Math.max(0, newer.length - limit));
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Whether a plan change took replicas away for a higher priority (shown as a `preempt` event). */
export function isPreemption(reason: Reason): boolean {
  return reason.cause === 'preempt';
}
