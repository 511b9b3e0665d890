// The original Force12 / microscaling agent, as in engine/localEngine/scalingCalc.go, target/queue.go,
// target/remainder.go and demand/task.go at microscaling/microscaling@33bb2191;
// ../shared/research/force12.md §4 and ../shared/research/peers.md §7.
import type { Policy, SimContext, SimService } from '../setup.js';

export interface Force12Options {
  readonly loopMs?: number;
  readonly kP?: number;
  readonly kD?: number;
  /** targetQueueLength, in messages (the HARDCODED config's 50). */
  readonly targetLength?: number;
  /** Replica-seconds of work per message: the queue-demo consumer took 300 ms per message. */
  readonly messageSeconds?: number;
}

interface Task {
  readonly i: number;
  readonly s: SimService;
  readonly remainder: boolean;
  readonly maxDelta: number;
  requested: number;
  demand: number;
  running: number;
  ideal: number;
  metric: number;
  last: number | undefined;
}

/**
 * Every 500 ms: count (Docker lists a container as running until it is removed, so stopping ones count),
 * then scalingCalculation: a PD controller on queue length per queue task (kP 0.04, kD 1.25; scale up only
 * above the target length, down only at or below 70 % of it), scale-downs lowest priority first, scale-ups
 * highest first, preempting lower priorities whose capacity is used only on a later tick. Capacity is counted
 * on Requested, not on replicas that still stop, so it overshoots. A task with a change in flight
 * (Running ≠ Requested) is left alone. Remainder tasks ask for their max, at most max − min per tick.
 * The queue length it reads is the backlog in messages of `messageSeconds` of one replica's work.
 */
export function force12Policy(options: Force12Options = {}) {
  const loopMs = options.loopMs ?? 500;
  const kP = options.kP ?? 0.04;
  const kD = options.kD ?? 1.25;
  const L = options.targetLength ?? 50;
  const messageSeconds = options.messageSeconds ?? 0.3;
  const minLength = Math.trunc(0.7 * L);

  return (ctx: SimContext): Policy => {
    const { setup, store, work } = ctx;
    const capacity = setup.capacity;
    const tasks: Task[] = setup.services.map((s, i) => ({
      i,
      s,
      remainder: !s.demand,
      maxDelta: s.max - s.min,
      requested: 0,
      demand: 0,
      running: 0,
      ideal: 0,
      metric: 0,
      last: undefined,
    }));
    const highFirst = [...tasks].sort(
      (a, b) => a.s.priority - b.s.priority || (a.s.name < b.s.name ? -1 : 1),
    );
    const lowFirst = [...highFirst].reverse();
    const every = Math.max(1, Math.round(loopMs / setup.stepMs));

    const meeting = (t: Task) => !t.remainder && t.metric <= L;
    const exceeding = (t: Task) => !t.remainder && t.metric <= minLength;
    const clamp = (t: Task, d: number) => {
      if (t.requested + d < t.s.min) d = t.s.min - t.requested;
      if (t.requested + d > t.s.max) d = t.s.max - t.requested;
      return d;
    };
    const scaleUpCount = (t: Task) =>
      Math.min(clamp(t, Math.max(meeting(t) ? 0 : t.ideal - t.requested, 0)), t.maxDelta);
    const scaleDownCount = (t: Task) =>
      Math.max(clamp(t, Math.min(exceeding(t) ? t.ideal - t.requested : 0, 0)), -t.maxDelta);

    return {
      step(now, k) {
        if (k % every !== 0) return;
        for (const t of tasks) {
          t.running = (store.ready[t.i] as number) + store.stoppingCount(t.i);
          if (t.remainder) {
            t.ideal = t.running + t.s.max;
            continue;
          }
          const rate = t.s.perReplicaRate;
          const len = rate > 0 ? (work.backlog[t.i] as number) / (rate * messageSeconds) : 0;
          const delta = Math.floor(kP * (len - L) + (t.last === undefined ? 0 : kD * (len - t.last)) + 0.5);
          t.last = len;
          t.metric = len;
          t.ideal = t.running + delta;
        }
        let available = capacity;
        for (const t of tasks) available -= t.requested;
        for (const t of lowFirst) {
          if (t.requested === t.s.min || t.running !== t.requested) continue;
          const d = scaleDownCount(t);
          if (d < 0) {
            t.demand = t.running + d;
            available -= d;
          }
        }
        for (let p = 0; p < highFirst.length; p++) {
          const t = highFirst[p] as Task;
          if (t.running !== t.requested) continue;
          let d = scaleUpCount(t);
          if (d <= 0) continue;
          if (available < d) {
            if (!t.remainder) {
              let freed = available;
              for (let q = highFirst.length - 1; q > p && freed < d; q--) {
                const lower = highFirst[q] as Task;
                if (lower.s.priority <= t.s.priority) continue;
                const s = Math.min(lower.requested - lower.s.min, d - freed);
                if (s > 0) {
                  lower.demand = lower.running - s;
                  freed += s;
                }
              }
            }
            d = available;
          }
          if (d > 0) {
            available -= d;
            t.demand = t.demand >= t.s.max ? t.s.max : t.running + d;
          }
        }
        // StopStartTasks: scale-downs first, then scale-ups; fire and forget.
        for (const t of tasks) {
          if (t.demand < t.requested && t.requested === t.running) {
            store.stop(t.i, t.requested - t.demand, now);
            t.requested = t.demand;
          }
        }
        for (const t of tasks) {
          if (t.demand > t.requested) {
            store.start(t.i, t.demand - t.requested, now);
            t.requested = t.demand;
          }
        }
      },
    };
  };
}
