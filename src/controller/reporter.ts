// The reporter: tells subscribers and the live log what the controller does, and reports each problem once
// (under a typed key) until it clears.
import type { Logger } from '../core/ports.js';
import type { ControllerEvent, EventKind } from '../core/types.js';
import type { EventLog, LiveEventInput } from './event-log.js';

export type Listener = (event: ControllerEvent) => void;

/**
 * What a problem is about: the back-end's observe, one service's scale calls, one service's source, or
 * something found outside the loop (the HA claim on the back-end). One message per key at a time.
 */
export type ProblemKey =
  | 'scheduler'
  | 'capacity'
  | 'autoscale'
  | `scale:${string}`
  | `source:${string}`
  | `outside:${string}`;

export class Reporter {
  /** Every event, with start/stop/preempt/change told apart, for the live stream. */
  readonly log: EventLog;
  private readonly listeners = new Set<Listener>();
  private readonly reported = new Map<ProblemKey, string>();
  private readonly logger: Logger;
  /** Wall-clock ms, for timestamps people read. */
  private readonly wall: () => number;

  constructor(logger: Logger, wall: () => number, log: EventLog) {
    this.logger = logger;
    this.wall = wall;
    this.log = log;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The message of the problem open under `key`, if any. */
  problemOf(key: ProblemKey): string | undefined {
    return this.reported.get(key);
  }

  problem(key: ProblemKey, service: string | undefined, message: string): void {
    if (this.reported.get(key) === message) return;
    this.reported.set(key, message);
    this.logger.log('warn', message);
    this.emit('error', message, service);
  }

  /** Ends a problem reported under `key`: logged, and a `recovered` event that says what works again. */
  clearProblem(key: ProblemKey, service: string | undefined, what: string): void {
    if (!this.reported.has(key)) return;
    this.reported.delete(key);
    const message = `${service ?? (key === 'capacity' || key === 'autoscale' ? key : 'scheduler')}: recovered, ${what}`;
    this.logger.log('info', message);
    this.emit('recovered', message, service);
  }

  /**
   * Tells subscribers (core's event kinds) and the live log (finer kinds: start, stop, preempt). `live`
   * overrides what the log records; by default it records the same event.
   */
  emit(
    kind: EventKind,
    message: string,
    service?: string,
    live?: Omit<LiveEventInput, 'time' | 'service'>,
  ): void {
    const event: ControllerEvent = {
      kind,
      time: new Date(this.wall()).toISOString(),
      message,
      ...(service === undefined ? {} : { service }),
    };
    for (const l of this.listeners) l(event);
    const liveKind = kind === 'scale' || kind === 'replica' ? 'plan' : kind;
    this.log.append({
      kind: liveKind,
      time: event.time,
      message,
      ...(service === undefined ? {} : { service }),
      ...live,
    });
  }

  /** An event only the live log shows (core has no kind for it yet). */
  emitLive(event: Omit<LiveEventInput, 'time'>): void {
    this.log.append({ time: new Date(this.wall()).toISOString(), ...event });
  }
}
