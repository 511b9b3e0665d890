import { type Duration, sample, seeded } from './random.js';

/**
 * Every replica of every service in one simulated cluster: ready, starting (ready at a drawn time) or
 * stopping (gone at a drawn time; it holds its capacity until then). Services are addressed by index.
 * Start-up and stop times come from two generators seeded apart, so the k-th start (or stop) takes the same
 * time under every policy that runs with the same seed.
 */
export class ReplicaStore {
  readonly names: readonly string[];
  readonly ready: Int32Array;
  /** Per service, when each starting replica becomes ready, oldest start first. */
  private readonly starting: number[][];
  /** Per service, when each stopping replica is gone. */
  private readonly stopping: number[][];
  readonly starts: Int32Array;
  readonly stops: Int32Array;
  private nextEvent = Number.POSITIVE_INFINITY;
  private readonly startTime: () => number;
  private readonly stopTime: () => number;

  constructor(names: readonly string[], startUp: Duration, stop: Duration, seed: number) {
    this.names = names;
    const n = names.length;
    this.ready = new Int32Array(n);
    this.starting = Array.from({ length: n }, () => []);
    this.stopping = Array.from({ length: n }, () => []);
    this.starts = new Int32Array(n);
    this.stops = new Int32Array(n);
    const startRandom = seeded(seed);
    const stopRandom = seeded(seed ^ 0x5bd1e995);
    this.startTime = () => sample(startUp, startRandom);
    this.stopTime = () => sample(stop, stopRandom);
  }

  startingCount(i: number): number {
    return (this.starting[i] as number[]).length;
  }

  stoppingCount(i: number): number {
    return (this.stopping[i] as number[]).length;
  }

  /** Ready and starting: what the service has, or will have, serving. */
  active(i: number): number {
    return (this.ready[i] as number) + (this.starting[i] as number[]).length;
  }

  /** Replicas holding capacity: ready, starting and stopping. */
  occupied(): number {
    let total = 0;
    for (let i = 0; i < this.names.length; i++) {
      total += (this.ready[i] as number) + this.startingCount(i) + this.stoppingCount(i);
    }
    return total;
  }

  start(i: number, n: number, now: number): void {
    const list = this.starting[i] as number[];
    for (let k = 0; k < n; k++) {
      const at = now + this.startTime();
      list.push(at);
      if (at < this.nextEvent) this.nextEvent = at;
    }
    this.starts[i] = (this.starts[i] as number) + n;
  }

  /** Starts or stops replicas until the service has `replicas` ready and starting (a scale call, at once). */
  scaleTo(i: number, replicas: number, now: number): void {
    const active = this.active(i);
    if (replicas > active) this.start(i, replicas - active, now);
    else if (replicas < active) this.stop(i, active - replicas, now);
  }

  /** Stops n replicas, the most recently started first (those still starting before ready ones). */
  stop(i: number, n: number, now: number): void {
    const list = this.starting[i] as number[];
    const gone = this.stopping[i] as number[];
    for (let k = 0; k < n; k++) {
      if (list.length > 0) list.pop();
      else if ((this.ready[i] as number) > 0) this.ready[i] = (this.ready[i] as number) - 1;
      else return;
      const at = now + this.stopTime();
      gone.push(at);
      if (at < this.nextEvent) this.nextEvent = at;
      this.stops[i] = (this.stops[i] as number) + 1;
    }
  }

  /**
   * Applies every start and stop that has finished by `now`; calls changed(i) once per service that changed.
   * Returns whether anything changed.
   */
  advance(now: number, changed?: (i: number) => void): boolean {
    if (now < this.nextEvent) return false;
    let any = false;
    let next = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.names.length; i++) {
      let touched = false;
      const list = this.starting[i] as number[];
      for (let k = 0; k < list.length; ) {
        const at = list[k] as number;
        if (at <= now) {
          list.splice(k, 1);
          this.ready[i] = (this.ready[i] as number) + 1;
          touched = true;
        } else {
          if (at < next) next = at;
          k++;
        }
      }
      const gone = this.stopping[i] as number[];
      for (let k = 0; k < gone.length; ) {
        const at = gone[k] as number;
        if (at <= now) {
          gone.splice(k, 1);
          touched = true;
        } else {
          if (at < next) next = at;
          k++;
        }
      }
      if (touched) {
        any = true;
        changed?.(i);
      }
    }
    this.nextEvent = next;
    return any;
  }
}
