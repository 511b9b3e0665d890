// The one zod-issue formatter: issues of one parse as `path.to.field: problem` lines (structural, no zod import).

export type IssuePath = readonly PropertyKey[];

/** What the formatter reads of a zod issue; every `z.core.$ZodIssue` is one. */
export interface Issue {
  readonly code: string;
  readonly path: IssuePath;
  readonly message: string;
  readonly keys?: readonly string[];
}

/** How one caller words its lines; only the prefix and the unknown-key text are required. */
export interface IssueStyle {
  /** Where the parsed value sits, e.g. `['scheduler']` or `['services', 'web']`. */
  readonly prefix: IssuePath;
  /** The text after `path: ` for an unknown key; the path ends with that key. */
  readonly unknown: (path: IssuePath) => string;
  /** Renders a path; plain dots unless given. */
  readonly join?: (path: IssuePath) => string;
  /** The text after `path: ` for any other issue; the issue's own message unless given. */
  readonly message?: (issue: Issue) => string;
}

/** `a.b.c`: each segment as text, joined with dots. */
export function dotted(path: IssuePath): string {
  return path.map(String).join('.');
}

/** One line per issue, and one per key of an unrecognized-keys issue. */
export function issueLines(issues: readonly Issue[], style: IssueStyle): string[] {
  const join = style.join ?? dotted;
  return issues.flatMap((issue) => {
    const path = [...style.prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return (issue.keys ?? []).map((key) => {
        const at = [...path, key];
        return `${join(at)}: ${style.unknown(at)}`;
      });
    }
    return [`${join(path)}: ${style.message ? style.message(issue) : issue.message}`];
  });
}
