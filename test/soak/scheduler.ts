import type { Scheduler } from '../../src/core/ports.js';
import type { Capacity, Observed, ServicePolicy } from '../../src/core/types.js';
import type { SoakClock } from './clock.js';

type State = 'starting' | 'running' | 'stopping';
interface Replica {
  readonly id: number;
  readonly instance: string;
  readonly service: string;
  state: State;
}

/** How scale() misbehaves for a while. */
export type ScaleMode =
  | 'ok'
  /** Most calls fail at once, nothing applied. */
  | 'reject'
  /** Calls hang 1–8 s, then half fail (nothing applied) and half apply and return. */
  | 'hang'
  /** Calls are applied at once but the answer takes 0.5–3 s. */
  | 'slow-ack';
/** How observe() misbehaves for a while. */
export type ObserveMode =
  | 'ok'
  | 'fail'
  /** The answer takes 100–900 ms (and, with staleObserve, describes the moment the call was made). */
  | 'slow';

/** A slow observe answers within this. */
export const SLOWEST_OBSERVE_MS = 900;

/** Something the scheduler saw that must never happen. */
export type Report = (what: string) => void;

export interface SoakSchedulerOptions {
  readonly instance: string;
  readonly services: readonly ServicePolicy[];
  readonly capacity: Capacity;
  readonly clock: SoakClock;
  readonly random: () => number;
  /** Start and stop take a uniform time in this range (ms). */
  readonly delayMs: readonly [number, number];
  /**
   * A slow observe() describes the moment it was called (as a list call answered late does), not the moment
   * it answers. Off: it describes the moment it answers.
   */
  readonly staleObserve: boolean;
  /** Replicas of another instance that it holds: service name → count. They must never be touched. */
  readonly foreign: ReadonlyMap<string, number>;
  readonly violation: Report;
}

/**
 * A back-end of the soak's own, in memory, on the soak clock: starts and stops take a random time, replicas
 * crash behind the controller's back, scale() and observe() fail or hang when told to. It holds replicas of
 * another instance too, filtered out of what it reports as a real back-end filters by label. It checks, at
 * every change it makes, what only it can see: capacity (counting starting and stopping replicas) never
 * exceeded, at most one call per service in flight, no call for a service the controller does not run.
 */
export class SoakScheduler implements Scheduler {
  private readonly opts: SoakSchedulerOptions;
  private readonly configured: Map<string, ServicePolicy>;
  private replicas: Replica[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(service: string) => void>();
  private readonly calling = new Set<string>();
  scaleMode: ScaleMode = 'ok';
  observeMode: ObserveMode = 'ok';
  /** Calls and changes so far (a sign of activity, for quiescence). */
  activity = 0;
  readonly counts = { scaleCalls: 0, scaleFailed: 0, observeFailed: 0, crashes: 0, starts: 0, stops: 0 };
  /** Most replicas, cpu and memory occupied at any instant. */
  readonly peak = { replicas: 0, cpu: 0, memory: 0 };

  constructor(options: SoakSchedulerOptions) {
    this.opts = options;
    this.configured = new Map(options.services.map((s) => [s.name, s]));
    for (const [service, n] of options.foreign) {
      for (let i = 0; i < n; i++) this.add('neighbour', service, 'running');
    }
  }

  async observe(): Promise<ReadonlyMap<string, Observed>> {
    this.activity++;
    const { clock, random } = this.opts;
    if (this.observeMode === 'fail') {
      this.counts.observeFailed++;
      throw new Error('engine not answering (soak fault)');
    }
    if (this.observeMode !== 'slow') return this.count();
    const seen = this.count();
    await clock.sleep(100 + Math.floor(random() * (SLOWEST_OBSERVE_MS - 100)));
    return this.opts.staleObserve ? seen : this.count();
  }

  async scale(service: string, replicas: number): Promise<void> {
    this.activity++;
    this.counts.scaleCalls++;
    const { clock, random, violation } = this.opts;
    if (!this.configured.has(service))
      violation(`scale(${service}) for a service the controller does not run`);
    if (!Number.isInteger(replicas) || replicas < 0) violation(`scale(${service}, ${replicas})`);
    if (this.calling.has(service)) violation(`a second scale(${service}) while one is in flight`);
    this.calling.add(service);
    try {
      const mode = this.scaleMode;
      if (mode === 'reject' && random() < 0.7) this.fail('back-end refused (soak fault)');
      if (mode === 'hang') {
        await clock.sleep(1000 + Math.floor(random() * 7000));
        if (random() < 0.5) this.fail('back-end timed out (soak fault)');
      }
      this.apply(service, replicas);
      if (mode === 'slow-ack') await clock.sleep(500 + Math.floor(random() * 2500));
    } finally {
      this.calling.delete(service);
      this.activity++;
    }
  }

  watch(onChange: (service: string) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  async close(): Promise<void> {}

  /** A random running replica of this instance dies. */
  crash(): void {
    const running = this.replicas.filter((r) => r.instance === this.opts.instance && r.state === 'running');
    if (running.length === 0) return;
    const victim = running[Math.floor(this.opts.random() * running.length)] as Replica;
    this.replicas = this.replicas.filter((r) => r !== victim);
    this.counts.crashes++;
    this.changed(victim.service);
  }

  /** Per configured service, this instance's replicas. */
  count(): Map<string, Observed> {
    const out = new Map<string, Observed>();
    for (const name of this.configured.keys()) out.set(name, { running: 0, starting: 0, stopping: 0 });
    for (const r of this.replicas) {
      if (r.instance !== this.opts.instance) continue;
      const o = out.get(r.service) as { running: number; starting: number; stopping: number };
      o[r.state]++;
    }
    return out;
  }

  /** Replicas of other instances, by service. */
  foreign(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.replicas) {
      if (r.instance === this.opts.instance) continue;
      if (r.state !== 'running') continue;
      out.set(r.service, (out.get(r.service) ?? 0) + 1);
    }
    return out;
  }

  /** This instance's replicas that occupy capacity: starting, running and stopping. */
  occupied(): { replicas: number; cpu: number; memory: number } {
    let replicas = 0;
    let cpu = 0;
    let memory = 0;
    for (const r of this.replicas) {
      if (r.instance !== this.opts.instance) continue;
      const s = this.configured.get(r.service) as ServicePolicy;
      replicas++;
      cpu += s.resources.cpu;
      memory += s.resources.memory;
    }
    return { replicas, cpu, memory };
  }

  private fail(message: string): never {
    this.counts.scaleFailed++;
    throw new Error(message);
  }

  /** What a real back-end does on scale(): new replicas start, the newest surplus ones stop. */
  private apply(service: string, replicas: number): void {
    const { instance } = this.opts;
    const active = this.replicas.filter(
      (r) => r.instance === instance && r.service === service && r.state !== 'stopping',
    );
    for (let i = active.length; i < replicas; i++) {
      const r = this.add(instance, service, 'starting');
      this.counts.starts++;
      void this.opts.clock.sleep(this.delay()).then(() => {
        if (r.state !== 'starting') return;
        r.state = 'running';
        this.changed(service);
      });
    }
    for (const r of active.slice(replicas).reverse()) {
      r.state = 'stopping';
      this.counts.stops++;
      void this.opts.clock.sleep(this.delay()).then(() => {
        this.replicas = this.replicas.filter((x) => x !== r);
        this.changed(service);
      });
    }
    this.checkCapacity(`after scale(${service}, ${replicas})`);
  }

  private add(instance: string, service: string, state: State): Replica {
    const r: Replica = { id: this.nextId++, instance, service, state };
    this.replicas.push(r);
    return r;
  }

  private delay(): number {
    const [lo, hi] = this.opts.delayMs;
    return lo + Math.floor(this.opts.random() * (hi - lo + 1));
  }

  private changed(service: string): void {
    this.activity++;
    for (const l of this.listeners) l(service);
  }

  /** DESIGN.md promise 1, at the instant of every change: starting and stopping replicas count. */
  private checkCapacity(when: string): void {
    const { capacity, violation } = this.opts;
    const o = this.occupied();
    this.peak.replicas = Math.max(this.peak.replicas, o.replicas);
    this.peak.cpu = Math.max(this.peak.cpu, o.cpu);
    this.peak.memory = Math.max(this.peak.memory, o.memory);
    if (o.replicas > capacity.replicas)
      violation(`${o.replicas} replicas occupy a capacity of ${capacity.replicas} ${when}`);
    if (capacity.cpu !== undefined && o.cpu > capacity.cpu + 1e-9)
      violation(`${o.cpu} cpu occupied of ${capacity.cpu} ${when}`);
    if (capacity.memory !== undefined && o.memory > capacity.memory)
      violation(`${o.memory} bytes occupied of ${capacity.memory} ${when}`);
  }
}
