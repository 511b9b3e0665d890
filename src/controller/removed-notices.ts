// Removed-service notices: tells once about each service the back-end reports that the config no longer has
// (again only after it was gone), and makes the stop calls decide() asks for.
import type { Logger } from '../core/ports.js';
import type { RemovedNotice, ScaleCall } from './decide.js';
import type { Reporter } from './reporter.js';

export class RemovedNotices {
  /** Removed services already told about (once each, until they are gone). */
  private readonly told = new Set<string>();
  private readonly logger: Logger;
  private readonly reporter: Reporter;
  private readonly execute: (call: ScaleCall) => void;

  constructor(logger: Logger, reporter: Reporter, execute: (call: ScaleCall) => void) {
    this.logger = logger;
    this.reporter = reporter;
    this.execute = execute;
  }

  /** Every removed service the back-end reports now (decide()'s `removed`). */
  act(removed: readonly RemovedNotice[]): void {
    for (const name of this.told) {
      if (!removed.some((r) => r.service.name === name)) this.told.delete(name);
    }
    for (const { service: r, message, stop } of removed) {
      if (!this.told.has(r.name)) {
        this.told.add(r.name);
        this.logger.log('warn', message, { service: r.name, replicas: r.holding });
        this.reporter.emit('plan', message, r.name);
      }
      if (stop) this.execute(stop);
    }
  }
}
