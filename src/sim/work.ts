import type { DemandReplay } from './demand.js';

/** What the work model knows of one service. */
export interface WorkService {
  readonly priority: number;
  /** Arriving demand; undefined for batch services (priority 2 and below), which always have work. */
  readonly demand: DemandReplay | undefined;
  /** Units one ready replica serves per simulated second. */
  readonly perReplicaRate: number;
}

/** Units waiting, oldest first, as (arrival step, amount) batches in a growable ring. */
class Fifo {
  steps = new Float64Array(64);
  amounts = new Float64Array(64);
  head = 0;
  tail = 0;

  push(step: number, amount: number): void {
    if (this.tail === this.steps.length) {
      if (this.head > 0) {
        this.steps.copyWithin(0, this.head, this.tail);
        this.amounts.copyWithin(0, this.head, this.tail);
        this.tail -= this.head;
        this.head = 0;
      }
      if (this.tail === this.steps.length) {
        const steps = new Float64Array(this.steps.length * 2);
        const amounts = new Float64Array(this.steps.length * 2);
        steps.set(this.steps);
        amounts.set(this.amounts);
        this.steps = steps;
        this.amounts = amounts;
      }
    }
    this.steps[this.tail] = step;
    this.amounts[this.tail] = amount;
    this.tail++;
  }
}

/**
 * The work model. Demand arrives as a fluid; each ready replica serves `perReplicaRate` units per second;
 * what is not served waits in a first-in-first-out backlog. A unit served more than the target delay after it
 * arrived is late. Batch services' ready replicas are busy all the time. Time moves in fixed steps; a unit's
 * wait is counted in whole steps (arrival step to serving step).
 */
export class WorkModel {
  private readonly services: readonly WorkService[];
  private readonly fifos: (Fifo | undefined)[];
  readonly backlog: Float64Array;
  readonly arrived: Float64Array;
  readonly served: Float64Array;
  readonly late: Float64Array;
  /** Busy replica-seconds per service: served units / rate, or ready time for batch services. */
  readonly busy: Float64Array;
  /** The largest priority-1 backlog (summed over priority-1 services) at the end of any step. */
  maxP1Backlog = 0;
  private readonly stepMs: number;
  private readonly lateSteps: number;

  constructor(services: readonly WorkService[], stepMs: number, targetDelayMs: number) {
    this.services = services;
    this.stepMs = stepMs;
    this.lateSteps = targetDelayMs / stepMs;
    const n = services.length;
    this.fifos = services.map((s) => (s.demand ? new Fifo() : undefined));
    this.backlog = new Float64Array(n);
    this.arrived = new Float64Array(n);
    this.served = new Float64Array(n);
    this.late = new Float64Array(n);
    this.busy = new Float64Array(n);
  }

  /** Moves step k ([k·step, (k+1)·step)) with `ready[i]` replicas serving each service. */
  step(k: number, ready: Int32Array): void {
    const seconds = this.stepMs / 1000;
    const from = k * this.stepMs;
    let p1Backlog = 0;
    for (let i = 0; i < this.services.length; i++) {
      const s = this.services[i] as WorkService;
      const fifo = this.fifos[i];
      const replicas = ready[i] as number;
      if (!fifo || !s.demand) {
        if (s.priority > 1) this.busy[i] = (this.busy[i] as number) + replicas * seconds;
        continue;
      }
      const arriving = s.demand.arrivals(from, from + this.stepMs);
      if (arriving > 0) {
        fifo.push(k, arriving);
        this.arrived[i] = (this.arrived[i] as number) + arriving;
        this.backlog[i] = (this.backlog[i] as number) + arriving;
      }
      let capacity = replicas * s.perReplicaRate * seconds;
      let served = 0;
      let late = 0;
      while (capacity > 0 && fifo.head < fifo.tail) {
        const amount = fifo.amounts[fifo.head] as number;
        const take = Math.min(amount, capacity);
        if (k - (fifo.steps[fifo.head] as number) > this.lateSteps) late += take;
        served += take;
        capacity -= take;
        if (take === amount) fifo.head++;
        else fifo.amounts[fifo.head] = amount - take;
      }
      if (fifo.head === fifo.tail) {
        fifo.head = 0;
        fifo.tail = 0;
        this.backlog[i] = 0;
      } else {
        this.backlog[i] = (this.backlog[i] as number) - served;
      }
      this.served[i] = (this.served[i] as number) + served;
      this.late[i] = (this.late[i] as number) + late;
      this.busy[i] = (this.busy[i] as number) + served / s.perReplicaRate;
      if (s.priority === 1) p1Backlog += this.backlog[i] as number;
    }
    if (p1Backlog > this.maxP1Backlog) this.maxP1Backlog = p1Backlog;
  }

  /** Whether units of service i wait (not served within the step they arrived in). */
  waiting(i: number): boolean {
    const fifo = this.fifos[i];
    return fifo !== undefined && fifo.head < fifo.tail;
  }

  /** Whether everything waiting for service i after step k arrived at most half the target delay ago. */
  youngWaiting(i: number, k: number): boolean {
    const fifo = this.fifos[i];
    if (!fifo || fifo.head === fifo.tail) return true;
    return k - (fifo.steps[fifo.head] as number) <= this.lateSteps / 2;
  }

  /**
   * Moves steps [from, to) in one go, as step() would one by one, given that every step in the span serves
   * what arrives in it and what waits stays young (the caller saw that at the same rates and replicas): the
   * queue keeps its amounts, its arrival steps move along with time.
   */
  skip(from: number, to: number, ready: Int32Array): void {
    const seconds = ((to - from) * this.stepMs) / 1000;
    for (let i = 0; i < this.services.length; i++) {
      const s = this.services[i] as WorkService;
      if (!this.fifos[i] || !s.demand) {
        if (s.priority > 1) this.busy[i] = (this.busy[i] as number) + (ready[i] as number) * seconds;
        continue;
      }
      const arriving = s.demand.arrivals(from * this.stepMs, to * this.stepMs);
      const fifo = this.fifos[i] as Fifo;
      for (let q = fifo.head; q < fifo.tail; q++) fifo.steps[q] = (fifo.steps[q] as number) + (to - from);
      this.arrived[i] = (this.arrived[i] as number) + arriving;
      this.served[i] = (this.served[i] as number) + arriving;
      this.busy[i] = (this.busy[i] as number) + arriving / s.perReplicaRate;
    }
  }

  /** Counts units still waiting after `steps` steps that have already waited longer than the target as late. */
  finish(steps: number): void {
    for (let i = 0; i < this.services.length; i++) {
      const fifo = this.fifos[i];
      if (!fifo) continue;
      for (let q = fifo.head; q < fifo.tail; q++) {
        if (steps - (fifo.steps[q] as number) > this.lateSteps) {
          this.late[i] = (this.late[i] as number) + (fifo.amounts[q] as number);
        }
      }
    }
  }
}
