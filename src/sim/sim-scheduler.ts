import type { Scheduler } from '../core/ports.js';
import type { Observed } from '../core/types.js';
import type { ReplicaStore } from './replicas.js';

/**
 * The Scheduler port over simulated replicas, for policies that manage capacity themselves (microscaler's
 * controller): scale() starts or stops replicas at once, with no capacity check of its own, and watch()
 * reports each finished start or stop, as an event-driven back-end would.
 */
export class SimScheduler implements Scheduler {
  private readonly store: ReplicaStore;
  private readonly now: () => number;
  private readonly index: Map<string, number>;
  private readonly listeners = new Set<(service: string) => void>();
  /** Counts calls to observe() and scale(): the simulator watches it to know when the controller is done. */
  activity = 0;

  constructor(store: ReplicaStore, now: () => number) {
    this.store = store;
    this.now = now;
    this.index = new Map(store.names.map((name, i) => [name, i]));
  }

  observe(_signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    this.activity++;
    const out = new Map<string, Observed>();
    const s = this.store;
    for (let i = 0; i < s.names.length; i++) {
      out.set(s.names[i] as string, {
        running: s.ready[i] as number,
        starting: s.startingCount(i),
        stopping: s.stoppingCount(i),
      });
    }
    return Promise.resolve(out);
  }

  scale(service: string, replicas: number, _reason: string): Promise<void> {
    this.activity++;
    const i = this.index.get(service);
    if (i === undefined) return Promise.reject(new Error(`unknown service ${service}`));
    this.store.scaleTo(i, replicas, this.now());
    return Promise.resolve();
  }

  watch(onChange: (service: string) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** Tells watchers that a service's replicas changed (the simulator calls it as starts and stops finish). */
  changed(i: number): void {
    const name = this.store.names[i] as string;
    for (const l of this.listeners) l(name);
  }

  async close(): Promise<void> {}
}
