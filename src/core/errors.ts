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

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
