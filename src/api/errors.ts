// Errors that the pushDemand callback given to startApiServer throws to say why a push was refused.
// The server maps them to HTTP statuses; any other error becomes a 500.

/** No service has this name → 404. The controller throws the same for runtime changes. */
export { UnknownServiceError } from '../controller/errors.js';

/** The service exists but its demand can be neither pushed nor set by hand → 409. */
export class NotPushableError extends Error {
  override readonly name = 'NotPushableError';
  readonly service: string;

  /** sourceType: the service's actual source type, or undefined when its rule needs no source. */
  constructor(service: string, sourceType?: string) {
    super(
      `service "${service}" does not take pushed demand: its source is ${sourceType ? `"${sourceType}"` : 'none'}, not "push"`,
    );
    this.service = service;
  }
}
