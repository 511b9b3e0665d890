import type { ReplicaStore } from './replicas.js';
import type { SimService } from './setup.js';

/**
 * A priority-aware cluster for policies that know no priorities (the peers, the static split, the oracle):
 * each service asks for a replica count, and the cluster places replicas the way Kubernetes places pods with
 * priority classes. Surplus replicas stop at once. Pending replicas are placed in priority order into capacity
 * that is free now; a priority level that cannot be placed evicts lower-priority replicas (lowest priority,
 * most recently started first) and waits for them to stop, and lower levels are not placed meanwhile.
 * Within a level, free capacity goes one replica at a time to each pending service in turn. When the capacity
 * in force drops below what runs (a node removed), the replicas beyond it stop at once, lowest priority and
 * most recently started first, as a drained node's pods are evicted and the lowest priorities lose the
 * places left.
 */
export class Cluster {
  private readonly store: ReplicaStore;
  private readonly services: readonly SimService[];
  private readonly capacity: () => number;
  /** What each service asks for. */
  readonly wanted: Int32Array;
  private readonly levels: number[][];

  constructor(store: ReplicaStore, services: readonly SimService[], capacity: number | (() => number)) {
    this.store = store;
    this.services = services;
    this.capacity = typeof capacity === 'number' ? () => capacity : capacity;
    this.wanted = new Int32Array(services.length);
    const byPriority = new Map<number, number[]>();
    services.forEach((s, i) => {
      const level = byPriority.get(s.priority) ?? [];
      level.push(i);
      byPriority.set(s.priority, level);
    });
    this.levels = [...byPriority.keys()].sort((a, b) => a - b).map((p) => byPriority.get(p) as number[]);
  }

  want(i: number, replicas: number): void {
    this.wanted[i] = Math.max(0, Math.round(replicas));
  }

  /** Stops surplus replicas and places pending ones; call after any change of `wanted` or of the replicas. */
  place(now: number): void {
    const store = this.store;
    const n = this.services.length;
    for (let i = 0; i < n; i++) {
      const surplus = store.active(i) - (this.wanted[i] as number);
      if (surplus > 0) store.stop(i, surplus, now);
    }
    const capacity = this.capacity();
    this.shrink(capacity, now);
    let free = capacity - store.occupied();
    for (let l = 0; l < this.levels.length; l++) {
      const level = this.levels[l] as number[];
      let pending = 0;
      for (const i of level) pending += Math.max(0, (this.wanted[i] as number) - store.active(i));
      if (pending === 0) continue;
      // One at a time to each service in turn, so a level short of capacity shares it.
      while (free > 0 && pending > 0) {
        for (const i of level) {
          if (free === 0) break;
          if ((this.wanted[i] as number) > store.active(i)) {
            store.start(i, 1, now);
            free--;
            pending--;
          }
        }
      }
      if (pending === 0) continue;
      // Capacity still stopping will come free; evict lower priorities for the rest, and wait. (What will
      // come free is what is stopping, unless the capacity shrank below what runs and stops.)
      let active = 0;
      for (let i = 0; i < n; i++) active += store.active(i);
      let evict = pending - Math.max(0, capacity - active);
      for (let m = this.levels.length - 1; m > l && evict > 0; m--) {
        const lower = this.levels[m] as number[];
        for (let j = lower.length - 1; j >= 0 && evict > 0; j--) {
          const i = lower[j] as number;
          const take = Math.min(evict, store.active(i));
          if (take > 0) {
            store.stop(i, take, now);
            evict -= take;
          }
        }
      }
      return;
    }
  }

  /** Stops the replicas beyond the capacity, lowest priority and most recently started first. */
  private shrink(capacity: number, now: number): void {
    let active = 0;
    for (let i = 0; i < this.services.length; i++) active += this.store.active(i);
    let over = active - capacity;
    for (let m = this.levels.length - 1; m >= 0 && over > 0; m--) {
      const level = this.levels[m] as number[];
      for (let j = level.length - 1; j >= 0 && over > 0; j--) {
        const i = level[j] as number;
        const take = Math.min(over, this.store.active(i));
        if (take > 0) {
          this.store.stop(i, take, now);
          over -= take;
        }
      }
    }
  }
}

/** A per-service autoscaler of a peer: given what it sees now, the replica count it asks for. */
export interface Autoscaler {
  /**
   * Called at every simulator step; acts on its own schedule and returns the count it asks for. `load` is the
   * signal in replicas' worth of work; `ready` and `starting` are the replicas that exist.
   */
  step(now: number, load: number, ready: number, starting: number): number;
}
