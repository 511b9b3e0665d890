// Long spans where nothing can happen (a trace whose intervals last a day, a month of zero demand) are
// stepped over in one move: at 100 ms a step, a 86,400,000 s interval is 864 million steps of nothing.
import type { DemandReplay } from './demand.js';
import type { NodePool } from './nodes.js';
import type { ReplicaStore } from './replicas.js';
import type { SimSetup } from './setup.js';
import type { WorkModel } from './work.js';

/**
 * How long everything must have stood still before a span is skipped, and how much of the span before the
 * next change is still simulated step by step: four times the longest window of any policy (HPA's and
 * Nomad's 300 s scale-down stabilisation and cooldown, KEDA's 300 s cooldown), so that every policy has
 * settled before and sees the change coming (the oracle looks ahead) after.
 */
export const QUIET_MS = 20 * 60 * 1000;

/** Finds the steps that would change nothing: no replica starting or stopping, constant rates and backlogs. */
export class QuietSpans {
  private readonly demands: (DemandReplay | undefined)[];
  private readonly ready: Int32Array;
  private readonly rates: Float64Array;
  private readonly backlogs: Float64Array;
  /** The first step of the current run of unchanged steps. */
  private since = 0;
  private nodeVersion = -1;

  constructor(
    private readonly setup: SimSetup,
    private readonly store: ReplicaStore,
    private readonly work: WorkModel,
    private readonly nodes?: NodePool,
  ) {
    this.demands = setup.services.map((s) => s.demand);
    this.ready = new Int32Array(setup.services.length).fill(-1);
    this.rates = new Float64Array(setup.services.length).fill(-1);
    this.backlogs = new Float64Array(setup.services.length).fill(-1);
  }

  /**
   * Called after step k's work: the last step up to which the run can move at once (k when it cannot).
   * Steps k+1 … the returned one would each find the same replicas, rates and empty backlogs.
   */
  after(k: number, steps: number): number {
    const { stepMs } = this.setup;
    const from = k * stepMs;
    const to = from + stepMs;
    let next = steps * stepMs;
    let same = true;
    // Nodes: none booting or leaving, none added or removed (a node autoscaler's windows, at most 20 min
    // from the last change of replicas or nodes, have then run out: see docs/simulator.md).
    if (this.nodes && (this.nodes.moving() || this.nodes.version !== this.nodeVersion)) {
      same = false;
      this.nodeVersion = this.nodes.version;
    }
    for (let i = 0; i < this.demands.length; i++) {
      const ready = this.store.ready[i] as number;
      if (this.store.startingCount(i) > 0 || this.store.stoppingCount(i) > 0 || ready !== this.ready[i]) {
        same = false;
      }
      this.ready[i] = ready;
      const d = this.demands[i];
      if (!d) continue;
      const rate = d.rate(from);
      const change = d.nextChangeMs(from);
      // What waits must stay as it is: each step serves what arrives in it, and nothing waits long enough
      // to be late (a replica busy at exactly the arrival rate leaves a little queue that never grows).
      const backlog = this.work.backlog[i] as number;
      const steady =
        !this.work.waiting(i) ||
        // (arrivals per step are differences of large running sums: equal up to their rounding)
        (Math.abs(backlog - (this.backlogs[i] as number)) <= 1e-6 * Math.max(1, backlog, rate * stepMs) &&
          this.work.youngWaiting(i, k));
      if (rate !== this.rates[i] || change < to || !steady) same = false;
      this.rates[i] = rate;
      this.backlogs[i] = backlog;
      next = Math.min(next, change);
    }
    if (!same) {
      this.since = k + 1;
      return k;
    }
    if ((k + 1 - this.since) * stepMs < QUIET_MS) return k;
    // The last step that ends before the margin ahead of the next change.
    const last = Math.min(steps - 1, Math.floor((next - QUIET_MS) / stepMs + 1e-9) - 1);
    return last > k + 1 ? last : k;
  }
}
