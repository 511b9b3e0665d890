// What the composition root hands to source and scheduler factories.
import type { Clock, Logger } from './ports.js';
import type { RunSpec } from './types.js';

export interface SourceContext {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The service this source feeds. */
  readonly service: string;
  /** Relative file paths in settings (e.g. a trace file) resolve against this folder. */
  readonly baseDir: string;
}

export interface SchedulerContext {
  readonly clock: Clock;
  readonly logger: Logger;
  /** This microscaler instance's name: every replica it starts is labelled with it. */
  readonly instance: string;
  readonly services: ReadonlyArray<{ readonly name: string; readonly run: RunSpec }>;
  /** `ha:` is configured: several instances share the back-end on purpose, and a lease decides who acts. */
  readonly ha?: boolean;
}
