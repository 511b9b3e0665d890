/** No service has this name. The API answers 404. */
export class UnknownServiceError extends Error {
  override readonly name = 'UnknownServiceError';
  readonly service: string;

  constructor(service: string) {
    super(`no service named "${service}"`);
    this.service = service;
  }
}
