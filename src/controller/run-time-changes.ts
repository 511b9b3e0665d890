// Run-time changes an operator makes (update, pause, resume, from the API or the CLI): applied to the service
// book, the service's terminal hold released, logged and told as `change` events.
import type { Logger } from '../core/ports.js';
import { NONE_OBSERVED, type Observed } from '../core/types.js';
import type { Reporter } from './reporter.js';
import type { ServiceBook } from './service-book.js';
import { describeChange, type ServiceChange } from './service-change.js';
import type { TerminalHolds } from './terminal-holds.js';

export interface RunTimeChangesOptions {
  readonly book: ServiceBook;
  readonly holds: TerminalHolds;
  readonly logger: Logger;
  readonly reporter: Reporter;
  /** What the back-end last reported for a service. */
  readonly observed: (service: string) => Observed | undefined;
}

export class RunTimeChanges {
  private readonly opts: RunTimeChangesOptions;

  constructor(options: RunTimeChangesOptions) {
    this.opts = options;
  }

  /** Changes min, max or priority (ConfigError, UnknownServiceError as the book throws them). */
  update(service: string, change: ServiceChange): void {
    const { before, after } = this.opts.book.update(service, change);
    this.releaseHold(service, 'its settings changed');
    const what = describeChange(before, after);
    this.opts.logger.log('info', `changed ${service}: ${what}`);
    this.opts.reporter.emitLive({ kind: 'change', service, message: `changed ${service}: ${what}` });
  }

  /** Freezes a service at the replicas it has now (running and starting). */
  pause(service: string): void {
    const o = this.opts.observed(service) ?? NONE_OBSERVED;
    const count = o.running + o.starting;
    if (this.opts.book.pause(service, count)) {
      this.opts.logger.log('info', `paused ${service} at ${count} replicas`);
      this.opts.reporter.emitLive({
        kind: 'change',
        service,
        message: `paused ${service} at ${count} replica(s)`,
      });
    }
  }

  resume(service: string): void {
    if (this.opts.book.resume(service)) {
      this.releaseHold(service, 'it was resumed');
      this.opts.logger.log('info', `resumed ${service}`);
      this.opts.reporter.emitLive({ kind: 'change', service, message: `resumed ${service}` });
    }
  }

  /** Ends the service's hold after a TerminalError, if it has one: something changed that may be the fix. */
  releaseHold(service: string, why: string): void {
    if (this.opts.holds.release(service)) this.opts.logger.log('info', `${service}: ${why}, trying again`);
  }
}
