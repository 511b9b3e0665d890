// The actor: acts on one observation. decide() with the plan, the ledger, the terminal holds and the services;
// then the scale calls it asks for (through the executor) and the removed services' notices and stops.
import type { Logger, Scheduler } from '../core/ports.js';
import type { Capacity, Observed, Plan } from '../core/types.js';
import type { CallLedger } from './call-ledger.js';
import { decide, type ScaleCall } from './decide.js';
import { RemovedNotices } from './removed-notices.js';
import type { Reporter } from './reporter.js';
import type { ScaleExecutor } from './scale-executor.js';
import type { ServiceBook } from './service-book.js';
import type { TerminalHolds } from './terminal-holds.js';
import type { TimeToDesired } from './time-to-desired.js';

export interface ActorOptions {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly reporter: Reporter;
  readonly executor: ScaleExecutor;
  readonly ledger: CallLedger;
  readonly holds: TerminalHolds;
  readonly book: ServiceBook;
  readonly settling: TimeToDesired;
  /** The capacity in force (live capacity changes it between ticks). */
  readonly capacity: () => Capacity;
  readonly freezing: boolean;
  readonly keepRemoved: boolean;
}

export class Actor {
  private readonly opts: ActorOptions;
  /** Tells about removed services once each, and stops them. */
  private readonly removed: RemovedNotices;

  constructor(options: ActorOptions) {
    this.opts = options;
    this.removed = new RemovedNotices(options.logger, options.reporter, (call) => this.execute(call));
  }

  /** Makes the calls `plan` needs now, given `observed` (an observation the ledger counts as seen). */
  act(plan: Plan, observed: ReadonlyMap<string, Observed>, now: number): void {
    const { ledger, book } = this.opts;
    const decision = decide({
      plan,
      observed,
      now,
      ledger,
      held: (service) => this.isHeld(service, observed.get(service)),
      services: book.effective,
      names: book.names,
      capacity: this.opts.capacity(),
      freezing: this.opts.freezing,
      pending: this.opts.settling.pending,
      keepRemoved: this.opts.keepRemoved,
    });
    for (const c of decision.calls) this.execute(c);
    this.removed.act(decision.removed);
  }

  /** Makes a call decide() asked for, retried with backoff if it fails; the ledger knows it meanwhile. */
  private execute(c: ScaleCall): void {
    void this.opts.executor.call(c.service, c.replicas, c.reason, true, c.active, c.frozen);
  }

  /** Whether a service is held after a TerminalError; a change of its object ends the hold. */
  private isHeld(service: string, observed: Observed | undefined): boolean {
    const state = this.opts.holds.check(service, observed, this.opts.scheduler.revision?.(service));
    if (state === 'released') this.opts.logger.log('info', `${service}: its object changed, trying again`);
    return state === 'held';
  }
}
