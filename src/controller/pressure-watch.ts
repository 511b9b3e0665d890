// Pressure out to VM autoscaling (issue 15): every tick, the two signals from the plan (planner/pressure.ts),
// what of them has lasted its window, and, when an autoscale target is set, the request the decider asks
// for (planner/autoscale.ts), sent in the background, one at a time, its outcome reported.
import { errorMessage } from '../core/errors.js';
import type { AutoscaleTarget, Logger } from '../core/ports.js';
import type { Capacity, CapacityAsk, Plan, PressureSnapshot, ServicePolicy } from '../core/types.js';
import { AutoscaleDecider, type NodeSize } from '../planner/autoscale.js';
import { NO_AMOUNT, pressure, Sustained } from '../planner/pressure.js';
import type { Reporter } from './reporter.js';

export interface PressureOptions {
  /** k: the priorities whose unmet need asks for machines (1 by default). */
  readonly upToPriority: number;
  /** How long unmet need must last before it asks for machines. */
  readonly scaleOutAfterMs: number;
  /** How long idle capacity must last before it is offered back. */
  readonly scaleInAfterMs: number;
  readonly cooldownMs: number;
  readonly maxStep: number;
  /** Where requests go; without one the signals are only shown. */
  readonly target?: AutoscaleTarget;
  /** One node's size, when the config says it (else read from the live capacity, when it counts nodes). */
  readonly node?: NodeSize;
}

export const DEFAULT_PRESSURE: PressureOptions = {
  upToPriority: 1,
  scaleOutAfterMs: 30_000,
  scaleInAfterMs: 600_000,
  cooldownMs: 300_000,
  maxStep: 1,
};

/** What /api/state shows of it. */
export type PressureState = PressureSnapshot;

export interface PressureWatchDeps {
  readonly instance: string;
  readonly reporter: Reporter;
  readonly logger: Logger;
  readonly wall: () => number;
  readonly signal: AbortSignal;
}

export class PressureWatch {
  private readonly unmet: Sustained;
  private readonly idle: Sustained;
  private readonly decider: AutoscaleDecider;
  private current: PressureState = {
    unmet: NO_AMOUNT,
    idle: NO_AMOUNT,
    sustainedUnmet: NO_AMOUNT,
    sustainedIdle: NO_AMOUNT,
  };
  private sending: Promise<void> | undefined;
  /** Requests made, by direction and outcome, for /metrics. */
  readonly asks = new Map<string, number>();

  constructor(
    private readonly opts: PressureOptions,
    private readonly deps: PressureWatchDeps,
  ) {
    this.unmet = new Sustained(opts.scaleOutAfterMs);
    this.idle = new Sustained(opts.scaleInAfterMs);
    this.decider = new AutoscaleDecider(opts);
  }

  get state(): PressureState {
    return this.current;
  }

  /** One tick: the signals from the plan, and a request if one is due (sent without waiting for it). */
  update(
    now: number,
    plan: Plan,
    services: readonly ServicePolicy[],
    capacity: Capacity,
    node?: NodeSize,
  ): void {
    const byName = new Map(services.map((s) => [s.name, s]));
    const rows = plan.services.flatMap((p) => {
      const s = byName.get(p.name);
      if (!s) return [];
      return [{ ...s, need: p.need, desired: p.desired, ...(s.warm ? { warm: s.warm } : {}) }];
    });
    const p = pressure(capacity, rows, this.opts.upToPriority);
    const sustainedUnmet = this.unmet.add(now, p.unmet);
    const sustainedIdle = this.idle.add(now, p.idle);
    this.current = { ...this.current, ...p, sustainedUnmet, sustainedIdle };
    if (!this.opts.target || this.sending) return;
    const ask = this.decider.decide(now, sustainedUnmet, sustainedIdle, this.opts.node ?? node);
    if (ask) this.sending = this.send(this.opts.target, ask).finally(() => (this.sending = undefined));
  }

  /** Waits for a request in flight (on stop). */
  async settle(): Promise<void> {
    await this.sending;
  }

  private async send(target: AutoscaleTarget, request: CapacityAsk): Promise<void> {
    const { reporter, logger, instance, wall, signal } = this.deps;
    const what = `asked for ${request.direction === 'out' ? 'more' : 'fewer'} machines${request.nodes ? ` (${request.nodes} node${request.nodes === 1 ? '' : 's'})` : ''}: ${request.reason}`;
    let outcome = 'taken';
    try {
      await target.ask(instance, request, signal);
      logger.log('info', what);
      reporter.emit('plan', what, undefined, { kind: 'autoscale', message: what });
      reporter.clearProblem('autoscale', undefined, 'the autoscale target takes requests again');
    } catch (error) {
      outcome = `failed: ${errorMessage(error)}`;
      reporter.problem(
        'autoscale',
        undefined,
        `autoscale: ${what}; the request failed: ${errorMessage(error)}`,
      );
    }
    const key = `${request.direction} ${outcome === 'taken' ? 'taken' : 'failed'}`;
    this.asks.set(key, (this.asks.get(key) ?? 0) + 1);
    this.current = { ...this.current, lastAsk: { time: new Date(wall()).toISOString(), request, outcome } };
  }
}
