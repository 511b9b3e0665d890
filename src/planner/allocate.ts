import type { Capacity } from '../core/types.js';

/**
 * Every service's claim on capacity, as parallel arrays (one slot per service, in the order the allocation
 * honours: priority, then name). Arrays rather than objects: with 10,000 services a tick allocates a few
 * arrays instead of thousands of small objects.
 */
export class Claims {
  readonly priority: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  /** Replicas wanted, already stabilised; Infinity for a remainder service. */
  readonly need: Float64Array;
  readonly cpu: Float64Array;
  readonly memory: Float64Array;
  readonly remainder: Uint8Array;

  constructor(readonly length: number) {
    this.priority = new Float64Array(length);
    this.min = new Float64Array(length);
    this.max = new Float64Array(length);
    this.need = new Float64Array(length);
    this.cpu = new Float64Array(length);
    this.memory = new Float64Array(length);
    this.remainder = new Uint8Array(length);
  }

  /** What the claim asks for: need within [min, max]. */
  target(i: number): number {
    return Math.min(this.max[i] as number, Math.max(this.min[i] as number, this.need[i] as number));
  }
}

// Slack for float sums of cpu (0.1 + 0.2 must fit in 0.3).
const EPS = 1e-9;

/** What is left of the capacity while it is handed out. */
class Budget {
  replicas: number;
  cpu: number;
  memory: number;

  constructor(
    capacity: Capacity,
    private readonly claims: Claims,
  ) {
    this.replicas = capacity.replicas;
    this.cpu = capacity.cpu ?? Number.POSITIVE_INFINITY;
    this.memory = capacity.memory ?? Number.POSITIVE_INFINITY;
  }

  /** How many replicas of claim i still fit. */
  units(i: number): number {
    const cpu = this.claims.cpu[i] as number;
    const memory = this.claims.memory[i] as number;
    let n = Math.max(0, this.replicas);
    if (cpu > 0) n = Math.min(n, Math.floor(this.cpu / cpu + EPS));
    if (memory > 0) n = Math.min(n, Math.floor(this.memory / memory + EPS));
    return Math.max(0, n);
  }

  take(i: number, n: number): void {
    this.replicas -= n;
    this.cpu -= n * (this.claims.cpu[i] as number);
    this.memory -= n * (this.claims.memory[i] as number);
  }
}

/**
 * Hands capacity out under strict priority. First every min, in priority order, as far as it fits. Then
 * each priority level in turn gets its need (within max) before the next level sees anything; inside a
 * level, services with a rule come before remainder services, and when a group cannot have all it wants,
 * capacity is shared in proportion to what each wants (the odd replicas to the smallest share first).
 * Returns replicas per claim.
 */
export function allocate(claims: Claims, capacity: Capacity): Float64Array {
  const budget = new Budget(capacity, claims);
  const alloc = new Float64Array(claims.length);
  for (let i = 0; i < claims.length; i++) {
    const n = Math.min(claims.min[i] as number, budget.units(i));
    budget.take(i, n);
    alloc[i] = n;
  }
  const scratch = { want: new Float64Array(claims.length), given: new Float64Array(claims.length) };
  const ruled: number[] = [];
  const rest: number[] = [];
  let start = 0;
  while (start < claims.length) {
    const priority = claims.priority[start];
    ruled.length = 0;
    rest.length = 0;
    let end = start;
    for (; end < claims.length && claims.priority[end] === priority; end++) {
      (claims.remainder[end] ? rest : ruled).push(end);
    }
    share(ruled, claims, alloc, budget, scratch);
    share(rest, claims, alloc, budget, scratch);
    start = end;
  }
  return alloc;
}

/**
 * Gives each member of a group what it still wants, or a proportional share when that does not fit.
 * `want` and `given` are scratch space indexed like the claims.
 */
function share(
  group: readonly number[],
  claims: Claims,
  alloc: Float64Array,
  budget: Budget,
  { want, given }: { want: Float64Array; given: Float64Array },
): void {
  let units = 0;
  let cpu = 0;
  let memory = 0;
  const members: number[] = [];
  for (const i of group) {
    const w = Math.max(0, claims.target(i) - (alloc[i] as number));
    if (w === 0) continue;
    want[i] = w;
    members.push(i);
    units += w;
    cpu += w * (claims.cpu[i] as number);
    memory += w * (claims.memory[i] as number);
  }
  if (members.length === 0) return;

  // The largest fraction of every want that fits all three budgets at once; floor(f * w) then always fits.
  let f = Math.min(1, budget.replicas / units);
  if (cpu > 0) f = Math.min(f, budget.cpu / cpu);
  if (memory > 0) f = Math.min(f, budget.memory / memory);
  f = Math.max(0, f);
  for (const i of members) {
    const w = want[i] as number;
    const n = f >= 1 ? w : Math.min(w, Math.floor(f * w + EPS), budget.units(i));
    given[i] = n;
    budget.take(i, n);
  }

  if (f < 1) {
    // Hand out what the floors left, a replica at a time, to whoever has the smallest share of its want.
    const heap = new MinHeap<number>(
      (a, b) =>
        (given[a] as number) / (want[a] as number) - (given[b] as number) / (want[b] as number) || a - b,
    );
    for (const i of members) heap.push(i);
    for (let i = heap.pop(); i !== undefined && budget.replicas > 0; i = heap.pop()) {
      // A claim that does not fit now never will: budgets only shrink while this group is served.
      if ((given[i] as number) >= (want[i] as number) || budget.units(i) === 0) continue;
      budget.take(i, 1);
      given[i] = (given[i] as number) + 1;
      heap.push(i);
    }
  }
  for (const i of members) alloc[i] = (alloc[i] as number) + (given[i] as number);
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
