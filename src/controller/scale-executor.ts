// The scale executor: makes one scale call per service at a time, fenced by canAct, bounded by a timeout,
// and records how it went (ledger, backoff, terminal holds, metrics, events).
import { errorMessage, TerminalError } from '../core/errors.js';
import { type Clock, canFreeze, type Logger, type Scheduler } from '../core/ports.js';
import type { Observed, Reason } from '../core/types.js';
import type { CallLedger } from './call-ledger.js';
import { type ServiceMetrics, scaleCause } from './metrics.js';
import type { Reporter } from './reporter.js';
import type { TerminalHolds } from './terminal-holds.js';
import { within } from './within.js';

export interface ScaleExecutorOptions {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly scaleTimeoutMs: number;
  readonly ledger: CallLedger;
  readonly reporter: Reporter;
  readonly holds: TerminalHolds;
  readonly metrics: ReadonlyMap<string, ServiceMetrics>;
  /** Ends the retry timers when the loop stops. */
  readonly signal: AbortSignal;
  /** Fencing: whether this instance may act now (high availability). */
  readonly mayAct: () => boolean;
  readonly stopped: () => boolean;
  /** What the back-end last reported for a service (a terminal hold remembers it). */
  readonly observed: (service: string) => Observed | undefined;
  /** Asks for a reconcile: a call settled, or a retry is due. */
  readonly reconcile: () => void;
}

export class ScaleExecutor {
  private readonly opts: ScaleExecutorOptions;

  constructor(options: ScaleExecutorOptions) {
    this.opts = options;
  }

  /** One scale call; at most one per service at a time. */
  call(
    service: string,
    replicas: number,
    reason: Reason,
    retry: boolean,
    from: number,
    frozen?: number,
  ): Promise<void> {
    const { ledger, reporter } = this.opts;
    const { text } = reason;
    const existing = ledger.inFlight.get(service);
    if (existing) return existing.done.then(() => this.call(service, replicas, reason, retry, from, frozen));
    const { scheduler, logger, clock, scaleTimeoutMs } = this.opts;
    const done = (async () => {
      // Fencing: a deposed leader must not act, even on a call decided while it still led.
      if (!this.opts.mayAct()) return;
      const keep = frozen ? ` (${frozen} kept frozen)` : '';
      logger.log('info', `scale ${service} to ${replicas}${keep}`, { reason: text });
      const up = replicas > from;
      const metrics = this.opts.metrics.get(service);
      const actions = metrics?.scaleActions;
      const key = `${up ? 'up' : 'down'} ${scaleCause(reason)}`;
      actions?.set(key, (actions.get(key) ?? 0) + 1);
      reporter.emit('scale', `${service} → ${replicas}${keep}: ${text}`, service, {
        kind: up ? 'start' : 'stop',
        message: `${up ? 'start' : 'stop'} ${service} ${from}→${replicas}${keep}: ${text}`,
        reason: text,
        cause: reason.cause,
        from,
        to: replicas,
      });
      const failed = (what: string) => {
        const delay = ledger.fail(service, clock.now());
        reporter.problem(
          `scale:${service}`,
          service,
          `scaling ${service} to ${replicas} ${what}${retry ? ` (retrying in ${delay}ms)` : ''}`,
        );
        if (retry && !this.opts.stopped()) {
          void clock.sleep(delay, this.opts.signal).then(() => this.opts.reconcile());
        }
      };
      const attempt =
        frozen !== undefined && canFreeze(scheduler)
          ? scheduler.scaleWithPool(service, { replicas, frozen }, text)
          : scheduler.scale(service, replicas, text);
      try {
        const settled = await within(clock, attempt, scaleTimeoutMs);
        if (settled) {
          ledger.succeeded(service);
          reporter.clearProblem(`scale:${service}`, service, 'scale calls succeed again');
        } else {
          this.abandon(service, replicas, attempt);
          if (metrics) metrics.scaleTimeouts++;
          failed(`did not settle within ${scaleTimeoutMs}ms; its replicas stay reserved until it does`);
        }
      } catch (error) {
        if (metrics) metrics.scaleErrors++;
        if (error instanceof TerminalError) this.holdTerminal(service, replicas, error);
        else failed(`failed: ${errorMessage(error)}`);
      } finally {
        ledger.settled(service, replicas, frozen);
        ledger.inFlight.delete(service);
      }
    })();
    ledger.inFlight.set(service, {
      target: replicas,
      ...(frozen === undefined ? {} : { frozen }),
      done,
    });
    return done.then(() => this.opts.reconcile());
  }

  /**
   * A call the back-end refused for good (401, 403, 404, not ours): reported once, and not made again, on a
   * timer or otherwise, until the service's settings, the config or the object change. Even then retries
   * keep to the backoff, so an object that keeps changing cannot make the calls a tight loop.
   */
  private holdTerminal(service: string, replicas: number, error: TerminalError): void {
    const { ledger, holds, scheduler, clock } = this.opts;
    ledger.fail(service, clock.now());
    holds.hold(service, this.opts.observed(service), scheduler.revision?.(service));
    this.opts.reporter.problem(
      `scale:${service}`,
      service,
      `scaling ${service} to ${replicas} failed: ${errorMessage(error)}; not retried until the service, the config or that object changes`,
    );
  }

  /** Keeps a timed-out call's target reserved until it settles; then logs how it went and reconciles. */
  private abandon(service: string, target: number, attempt: Promise<void>): void {
    const { clock, logger, scaleTimeoutMs } = this.opts;
    const started = clock.now();
    this.opts.ledger.abandon(service, target, attempt, (outcome) => {
      const after = Math.max(0, clock.now() - started) + scaleTimeoutMs;
      logger.log('info', `an abandoned call scaling ${service} to ${target} ${outcome}`, {
        afterMs: after,
      });
      this.opts.reconcile();
    });
  }
}
