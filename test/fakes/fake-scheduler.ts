import type { Scheduler } from '../../src/core/ports.js';
import type { Observed } from '../../src/core/types.js';

type State = 'starting' | 'running' | 'stopping';
interface Replica {
  readonly id: number;
  readonly service: string;
  state: State;
}

/**
 * An in-memory back-end whose replicas start and stop only when the test says so (finishStarts,
 * finishStops), so every intermediate state can be inspected. It records the peak number of replicas
 * occupying capacity at any moment, and every start and stop per service.
 */
export class FakeScheduler implements Scheduler {
  private nextId = 1;
  private replicas: Replica[] = [];
  private readonly listeners = new Set<(service: string) => void>();
  peak = 0;
  readonly starts = new Map<string, number>();
  readonly stops = new Map<string, number>();
  readonly calls: { service: string; replicas: number; reason: string }[] = [];
  /** Errors the next scale calls throw, in order. */
  failures: Error[] = [];
  /** Errors the next observe calls throw, in order. */
  observeFailures: Error[] = [];
  /** How many of the next scale calls hang: they change nothing and do not settle until release(). */
  hangScales = 0;
  /** While set, observe calls hang until release(). */
  hangObserve = false;
  /** Calls hung now; release() lets them go on. */
  private hung: (() => void)[] = [];
  /** Scale calls that have begun and not settled, per service, and the most at once. */
  private readonly open = new Map<string, number>();
  mostOpenPerService = 0;
  /** Replicas start instantly when set. */
  instant = false;

  constructor(private readonly services: readonly string[]) {}

  /** How many observe calls were made. */
  observeCalls = 0;

  async observe(): Promise<ReadonlyMap<string, Observed>> {
    this.observeCalls++;
    if (this.hangObserve) await new Promise<void>((resolve) => this.hung.push(resolve));
    const failure = this.observeFailures.shift();
    if (failure) throw failure;
    const out = new Map<string, Observed>();
    for (const s of this.services) out.set(s, this.count(s));
    return out;
  }

  count(service: string): Observed {
    let running = 0;
    let starting = 0;
    let stopping = 0;
    for (const r of this.replicas) {
      if (r.service !== service) continue;
      if (r.state === 'running') running++;
      else if (r.state === 'starting') starting++;
      else stopping++;
    }
    return { running, starting, stopping };
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    this.calls.push({ service, replicas, reason });
    const open = (this.open.get(service) ?? 0) + 1;
    this.open.set(service, open);
    this.mostOpenPerService = Math.max(this.mostOpenPerService, open);
    try {
      if (this.hangScales > 0) {
        this.hangScales--;
        await new Promise<void>((resolve) => this.hung.push(resolve));
      }
      this.apply(service, replicas);
    } finally {
      this.open.set(service, (this.open.get(service) ?? 1) - 1);
    }
  }

  /** Every hung call goes on: a hung scale lands late (applies its change), a hung observe answers. */
  release(): void {
    const hung = this.hung;
    this.hung = [];
    for (const go of hung) go();
  }

  /** How many calls hang now. */
  get hanging(): number {
    return this.hung.length;
  }

  private apply(service: string, replicas: number): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const active = this.replicas.filter((r) => r.service === service && r.state !== 'stopping');
    for (let i = active.length; i < replicas; i++) {
      this.replicas.push({ id: this.nextId++, service, state: this.instant ? 'running' : 'starting' });
      this.starts.set(service, (this.starts.get(service) ?? 0) + 1);
    }
    // newest first
    for (const r of active.slice(replicas).reverse()) {
      r.state = 'stopping';
      this.stops.set(service, (this.stops.get(service) ?? 0) + 1);
    }
    this.peak = Math.max(this.peak, this.replicas.length);
  }

  /** Every starting replica (of one service, or all) becomes running. */
  finishStarts(service?: string): void {
    for (const r of this.replicas)
      if (r.state === 'starting' && (!service || r.service === service)) r.state = 'running';
    this.notify(service);
  }

  /** Up to n stopping replicas (all when n is omitted) are gone. */
  finishStops(n = Number.POSITIVE_INFINITY, service?: string): void {
    let left = n;
    this.replicas = this.replicas.filter((r) => {
      if (left > 0 && r.state === 'stopping' && (!service || r.service === service)) {
        left--;
        return false;
      }
      return true;
    });
    this.notify(service);
  }

  /** A running replica dies behind the scheduler's back. */
  crash(service: string): void {
    const i = this.replicas.findIndex((r) => r.service === service && r.state === 'running');
    if (i >= 0) this.replicas.splice(i, 1);
    this.notify(service);
  }

  watch(onChange: (service: string) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  async close(): Promise<void> {}

  private notify(service?: string): void {
    for (const l of this.listeners) l(service ?? '');
  }
}
