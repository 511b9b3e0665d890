export { Controller } from './controller.js';
export { type DecideInput, type Decision, decide, NO_CALLS, type ScaleCall } from './decide.js';
export { UnknownServiceError } from './errors.js';
export { EventLog, type LiveEvent, type LiveEventKind } from './event-log.js';
export { type LeaderState, Leadership, type LeadershipOptions, type Lease } from './leadership.js';
export {
  type ControllerMetrics,
  Histogram,
  type ScaleCause,
  type ServiceMetrics,
  scaleCause,
} from './metrics.js';
export type { ControllerOptions } from './options.js';
export { applyChange, type ServiceChange } from './service-change.js';
export type { ControllerSnapshot, ServiceStatus } from './snapshot.js';
export type { PendingReason } from './time-to-desired.js';
