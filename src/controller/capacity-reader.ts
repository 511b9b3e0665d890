// The live capacity (issue 15): reads the capacity source once per tick (one read at a time, bounded by the
// read timeout; a read still running at the end of a tick is used by a later one), passes each reading
// through the guard (capacity-guard.ts), and tells what changed ("capacity 20 → 14: node n3 not ready")
// and what was not taken, once, until it is.
import { errorMessage } from '../core/errors.js';
import type { CapacitySource, Clock } from '../core/ports.js';
import type { Capacity } from '../core/types.js';
import type { NodeSize } from '../planner/autoscale.js';
import { CapacityGuard, type CapacityReading, describeCapacity, sameCapacity } from './capacity-guard.js';
import type { Reporter } from './reporter.js';
import { within } from './within.js';

export interface CapacityReaderOptions {
  readonly source: CapacitySource;
  /** How long a drop below half must last before it is taken. */
  readonly confirmMs: number;
  /** The least time between the starts of two reads (0: every tick). */
  readonly everyMs: number;
  readonly clock: Clock;
  readonly readTimeoutMs: number;
  /** A tick: the longest one read() waits. */
  readonly intervalMs: number;
  readonly reporter: Reporter;
}

/** One change taken, for the snapshot's history (the dashboard's step line). */
export interface CapacityStep {
  /** Clock ms. */
  readonly at: number;
  readonly capacity: Capacity;
  readonly why?: string;
}

const HISTORY = 100;

export class CapacityReader {
  private readonly guard: CapacityGuard;
  private inFlight: { started: number; abort: AbortController; done: Promise<CapacityReading> } | undefined;
  /** When the last read started (clock ms). */
  private lastStart: number | undefined;
  /** The nodes the capacity in force counts, where its source counts nodes. */
  private nodes: number | undefined;
  /** The latest changes taken, oldest first. */
  readonly steps: CapacityStep[] = [];

  constructor(private readonly opts: CapacityReaderOptions) {
    this.guard = new CapacityGuard(opts.confirmMs);
  }

  /** In force; undefined until a first reading was taken (the controller plans nothing meanwhile). */
  get capacity(): Capacity | undefined {
    return this.guard.capacity;
  }

  /**
   * Starts a read unless one is in flight, and waits for it, but no longer than a tick. A read still running
   * after readTimeoutMs is aborted and counts as a failed reading; its late answer is ignored.
   */
  async read(): Promise<void> {
    const { clock, readTimeoutMs, intervalMs, everyMs } = this.opts;
    if (!this.inFlight) {
      if (this.lastStart !== undefined && clock.now() - this.lastStart < everyMs) return;
      this.lastStart = clock.now();
      const abort = new AbortController();
      const done = this.opts.source.read(abort.signal).then(
        (r): CapacityReading => r,
        (error: unknown): CapacityReading => ({ error: errorMessage(error) }),
      );
      this.inFlight = { started: clock.now(), abort, done };
    }
    const flight = this.inFlight;
    const left = readTimeoutMs - (clock.now() - flight.started);
    const settled = left > 0 ? await within(clock, flight.done, Math.min(left, intervalMs)) : undefined;
    if (settled) {
      this.inFlight = undefined;
      this.apply(clock.now(), settled.value);
    } else if (clock.now() - flight.started >= readTimeoutMs) {
      flight.abort.abort();
      this.inFlight = undefined;
      this.apply(clock.now(), { error: `no answer within ${readTimeoutMs} ms` });
    }
  }

  /** One node's share of the capacity in force, where its source counts nodes. */
  get nodeSize(): NodeSize | undefined {
    const c = this.guard.capacity;
    if (!c || !this.nodes) return undefined;
    return {
      cpu: (c.cpu ?? 0) / this.nodes,
      memory: (c.memory ?? 0) / this.nodes,
      replicas: c.replicas / this.nodes,
    };
  }

  private apply(now: number, reading: CapacityReading & { readonly nodes?: number }): void {
    const { reporter } = this.opts;
    const verdict = this.guard.read(now, reading);
    if ('capacity' in reading && sameCapacity(verdict.capacity, reading.capacity)) this.nodes = reading.nodes;
    if (verdict.change) {
      const { from, to, why } = verdict.change;
      this.steps.push({ at: now, capacity: to, ...(why ? { why } : {}) });
      if (this.steps.length > HISTORY) this.steps.shift();
      const message = from
        ? `capacity ${describeCapacity(from)} → ${describeCapacity(to)}${why ? `: ${why}` : ''}`
        : `capacity ${describeCapacity(to)}${why ? `: ${why}` : ''}`;
      reporter.emit('plan', message, undefined, {
        kind: 'capacity',
        message,
        ...(from ? { from: from.replicas } : {}),
        to: to.replicas,
      });
    }
    if (verdict.problem) reporter.problem('capacity', undefined, verdict.problem);
    else
      reporter.clearProblem(
        'capacity',
        undefined,
        `reading ${describeCapacity(verdict.capacity ?? { replicas: 0 })} again`,
      );
  }
}
