import type { Capacity } from '../core/types.js';

/** One service's claim on capacity, in the order the allocation honours: (priority, name). */
export interface Claim {
  readonly priority: number;
  readonly min: number;
  readonly max: number;
  /** Replicas wanted, already stabilised; Infinity for a remainder service. */
  readonly need: number;
  readonly remainder: boolean;
  readonly cpu: number;
  readonly memory: number;
}

// Slack for float sums of cpu (0.1 + 0.2 must fit in 0.3).
const EPS = 1e-9;

/** What is left of the capacity while it is handed out. */
class Budget {
  replicas: number;
  cpu: number;
  memory: number;

  constructor(capacity: Capacity) {
    this.replicas = capacity.replicas;
    this.cpu = capacity.cpu ?? Number.POSITIVE_INFINITY;
    this.memory = capacity.memory ?? Number.POSITIVE_INFINITY;
  }

  /** How many replicas of this claim still fit. */
  units(c: Claim): number {
    let n = Math.max(0, this.replicas);
    if (c.cpu > 0) n = Math.min(n, Math.floor(this.cpu / c.cpu + EPS));
    if (c.memory > 0) n = Math.min(n, Math.floor(this.memory / c.memory + EPS));
    return Math.max(0, n);
  }

  take(c: Claim, n: number): void {
    this.replicas -= n;
    this.cpu -= n * c.cpu;
    this.memory -= n * c.memory;
  }
}

/**
 * Hands capacity out under strict priority. First every min, in priority order, as far as it fits. Then
 * each priority level in turn gets its need (within max) before the next level sees anything; inside a
 * level, services with a rule come before remainder services, and when a group cannot have all it wants,
 * capacity is shared in proportion to what each wants (largest shares first, then by name).
 * Returns replicas per claim, aligned with `claims`, which must be sorted by (priority, name).
 */
export function allocate(claims: readonly Claim[], capacity: Capacity): number[] {
  const budget = new Budget(capacity);
  const alloc = claims.map((c) => {
    const n = Math.min(c.min, budget.units(c));
    budget.take(c, n);
    return n;
  });

  let start = 0;
  while (start < claims.length) {
    let end = start;
    const priority = (claims[start] as Claim).priority;
    while (end < claims.length && (claims[end] as Claim).priority === priority) end++;
    const level: number[] = [];
    for (let i = start; i < end; i++) level.push(i);
    share(
      level.filter((i) => !(claims[i] as Claim).remainder),
      claims,
      alloc,
      budget,
    );
    share(
      level.filter((i) => (claims[i] as Claim).remainder),
      claims,
      alloc,
      budget,
    );
    start = end;
  }
  return alloc;
}

/** Gives each member of a group what it still wants, or a proportional share when that does not fit. */
function share(group: readonly number[], claims: readonly Claim[], alloc: number[], budget: Budget): void {
  const want = new Map<number, number>();
  let units = 0;
  let cpu = 0;
  let memory = 0;
  for (const i of group) {
    const c = claims[i] as Claim;
    const target = Math.min(c.max, Math.max(c.min, c.need));
    const w = Math.max(0, target - (alloc[i] as number));
    if (w === 0) continue;
    want.set(i, w);
    units += w;
    cpu += w * c.cpu;
    memory += w * c.memory;
  }
  if (want.size === 0) return;

  // The largest fraction of every want that fits all three budgets at once; floor(f * w) then always fits.
  let f = Math.min(1, budget.replicas / units);
  if (cpu > 0) f = Math.min(f, budget.cpu / cpu);
  if (memory > 0) f = Math.min(f, budget.memory / memory);
  f = Math.max(0, f);
  const given = new Map<number, number>();
  for (const [i, w] of want) {
    const c = claims[i] as Claim;
    const n = Math.min(w, Math.floor(f * w + EPS), budget.units(c));
    given.set(i, n);
    budget.take(c, n);
  }
  if (f >= 1) {
    for (const [i, n] of given) alloc[i] = (alloc[i] as number) + n;
    return;
  }

  // Hand out what the floors left, a replica at a time, to whoever has the smallest share of its want.
  const heap = new MinHeap<number>((a, b) => {
    const ka = (given.get(a) as number) / (want.get(a) as number);
    const kb = (given.get(b) as number) / (want.get(b) as number);
    return ka - kb || a - b;
  });
  for (const i of want.keys()) heap.push(i);
  for (let i = heap.pop(); i !== undefined; i = heap.pop()) {
    const c = claims[i] as Claim;
    const n = given.get(i) as number;
    // A claim that does not fit now never will: budgets only shrink while this group is served.
    if (n >= (want.get(i) as number) || budget.units(c) === 0) continue;
    budget.take(c, 1);
    given.set(i, n + 1);
    heap.push(i);
  }
  for (const [i, n] of given) alloc[i] = (alloc[i] as number) + n;
}

/** A small binary heap; `less(a, b) < 0` puts a first. */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => number) {}

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(items[i] as T, items[parent] as T) >= 0) break;
      [items[i], items[parent]] = [items[parent] as T, items[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.less(items[l] as T, items[m] as T) < 0) m = l;
      if (r < items.length && this.less(items[r] as T, items[m] as T) < 0) m = r;
      if (m === i) return top;
      [items[i], items[m]] = [items[m] as T, items[i] as T];
      i = m;
    }
  }
}
