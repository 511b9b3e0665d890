/** A problem with what the user asked for: never retried, reported once, exit status 2 from the CLI. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One entry per problem, each `path.to.field: what is wrong`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

/** A back-end or source failure that may go away: retried with backoff. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/**
 * A back-end's answer that asking again cannot change: 401, 403, 404, or an object not labelled as ours.
 * The controller reports it once and does not ask again until something changes: the service's settings,
 * the config, or the object itself (as the back-end observes or watches it).
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
