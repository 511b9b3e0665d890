// The simulated cluster's machines (issue 15 §3): nodes that boot, serve and are removed on request, their
// capacity in force, and what they cost in node-hours.
import { type Duration, longest, sample, seeded } from './random.js';

/** A cluster of nodes, as a run's setup gives it. */
export interface NodeSetup {
  /** Replicas one node holds. */
  readonly size: number;
  /** Nodes ready at the start. */
  readonly initial: number;
  /** Bounds of the node count that autoscalers keep to. */
  readonly min: number;
  readonly max: number;
  /** From a request for a node to the node taking replicas. */
  readonly boot: Duration;
  /** From a removal request to the end of billing: the drain, then the termination. */
  readonly removal: Duration;
  /** Node-level times (boot, removal, the node autoscalers' windows) are divided by this (1: real time). */
  readonly timeScale: number;
}

// Boot: the range docs/simulator.md cites (Mao & Humphrey 2012: 97 s for an EC2 Linux VM to answer ssh; the
// cluster-autoscaler FAQ: 3–4 minutes on GCE from the request to pods on the new node).
export const DEFAULT_BOOT: Duration = { kind: 'uniform', minMs: 90_000, maxMs: 240_000 };
// Removal: our estimate (no source measured it): the drain takes the replicas' stop time, the cloud's
// termination then tens of seconds.
export const DEFAULT_REMOVAL: Duration = { kind: 'uniform', minMs: 30_000, maxMs: 60_000 };

/** A duration divided by a time scale (a compressed trace compresses the machines alike). */
export function scaled(d: Duration, timeScale: number): Duration {
  return d.kind === 'fixed'
    ? { kind: 'fixed', ms: d.ms / timeScale }
    : { kind: 'uniform', minMs: d.minMs / timeScale, maxMs: d.maxMs / timeScale };
}

/**
 * The nodes of one run. A requested node boots for a drawn time (seeded: the k-th boot takes the same time
 * under every policy), then holds `size` replicas. A removed node leaves the capacity in force at once
 * (cordoned: nothing more is placed on it, and what exceeds the capacity gives way), keeps holding, for the
 * replicas' longest stop, what was stopping on it (the drain), and is billed until its drawn removal time
 * ends. Node-hours count every node from its request to the end of its removal.
 */
export class NodePool {
  readonly size: number;
  private readyCount: number;
  /** When each booting node is ready. */
  private readonly booting: number[] = [];
  /** When each removed node stops holding its drained replicas' capacity. */
  private readonly draining: number[] = [];
  /** When each removed node stops being billed. */
  private readonly leaving: number[] = [];
  private readonly bootTime: () => number;
  private readonly removalTime: () => number;
  private readonly drainMs: number;
  private nodeMs = 0;
  private peak: number;
  /** Bumped on every change of the nodes (a request, a join, a drain's or removal's end). */
  version = 0;

  constructor(
    readonly setup: NodeSetup,
    seed: number,
    drainMs: number,
  ) {
    this.size = setup.size;
    this.readyCount = setup.initial;
    this.peak = setup.initial;
    this.drainMs = drainMs;
    const bootRandom = seeded(seed ^ 0x2545f491);
    const removalRandom = seeded(seed ^ 0x68e31da4);
    const boot = scaled(setup.boot, setup.timeScale);
    const removal = scaled(setup.removal, setup.timeScale);
    this.bootTime = () => sample(boot, bootRandom);
    this.removalTime = () => sample(removal, removalRandom);
  }

  /** Nodes taking replicas. */
  get ready(): number {
    return this.readyCount;
  }

  get bootingCount(): number {
    return this.booting.length;
  }

  /** Nodes that cost: booting, ready and being removed. */
  get billed(): number {
    return this.readyCount + this.booting.length + this.leaving.length;
  }

  /** Replicas that may be placed: the ready nodes'. */
  capacity(): number {
    return this.readyCount * this.size;
  }

  /** What replicas may hold at this moment: the ready nodes, and the draining ones' stopping replicas. */
  held(): number {
    return (this.readyCount + this.draining.length) * this.size;
  }

  /** The longest a boot can take, in the run's (scaled) time. */
  longestBoot(): number {
    return longest(scaled(this.setup.boot, this.setup.timeScale));
  }

  /** Before the run: starts with n ready nodes instead (a fleet that was already there). */
  startWith(n: number): void {
    this.readyCount = Math.max(0, Math.min(this.setup.max, n));
    this.peak = this.readyCount;
  }

  /** Requests n more nodes (no more than the max counting those booting); returns how many were. */
  add(n: number, now: number): number {
    const take = Math.max(0, Math.min(n, this.setup.max - this.readyCount - this.booting.length));
    for (let k = 0; k < take; k++) this.booting.push(now + this.bootTime());
    if (take > 0) this.changed();
    return take;
  }

  /** Removes n ready nodes (no fewer than the min remain); returns how many were. */
  remove(n: number, now: number): number {
    const take = Math.max(0, Math.min(n, this.readyCount - this.setup.min));
    for (let k = 0; k < take; k++) {
      this.readyCount--;
      this.draining.push(now + this.drainMs);
      this.leaving.push(now + this.removalTime());
    }
    if (take > 0) this.changed();
    return take;
  }

  /** Applies the joins and removals finished by `now`; returns whether the capacity in force rose. */
  advance(now: number): boolean {
    const joined = takeDue(this.booting, now);
    this.readyCount += joined;
    const drained = takeDue(this.draining, now);
    const left = takeDue(this.leaving, now);
    if (joined + drained + left > 0) this.changed();
    return joined > 0;
  }

  /** Whether nodes are booting or being removed. */
  moving(): boolean {
    return this.booting.length > 0 || this.leaving.length > 0;
  }

  /** Bills the nodes as they are for `ms`. */
  bill(ms: number): void {
    this.nodeMs += this.billed * ms;
  }

  get nodeHours(): number {
    // Node-level time runs `timeScale` times faster: an hour of the run's clock is timeScale node-hours.
    return (this.nodeMs * this.setup.timeScale) / 3_600_000;
  }

  get peakNodes(): number {
    return this.peak;
  }

  private changed(): void {
    this.version++;
    if (this.billed > this.peak) this.peak = this.billed;
  }
}

/** Removes the times at or before `now` from the list; returns how many. */
function takeDue(list: number[], now: number): number {
  let n = 0;
  for (let k = list.length - 1; k >= 0; k--) {
    if ((list[k] as number) <= now) {
      list.splice(k, 1);
      n++;
    }
  }
  return n;
}
