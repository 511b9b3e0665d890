// The one-line problems users see, `path.to.field: what is wrong`: zod issues worded, paths joined, lists capped.
import type { z } from 'zod';
import type { IssueStyle } from '../core/issues.js';

export type Path = readonly PropertyKey[];

/** `services.web.min`; the document itself is `config`. Odd keys are quoted: `run.env."A.B"`. */
export function joinPath(path: Path): string {
  return path.length === 0 ? 'config' : path.map(segment).join('.');
}

function segment(key: PropertyKey): string {
  const text = String(key);
  if (/^[A-Za-z0-9_-]{1,64}$/.test(text)) return text;
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);
}

/** A value, short enough for an error line: strings quoted and cut, collections named. */
export function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'an ordered map (!!omap)';
  if (value instanceof Set) return 'a set (!!set)';
  if (ArrayBuffer.isView(value)) return 'binary data';
  if (typeof value === 'object') return 'a map';
  return typeof value;
}

/** `must be WHAT, got VALUE`, or `required` when the value is missing: one message for every issue of a field. */
export function expecting(what: string): (issue: { readonly input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined ? 'required' : `must be ${what}, got ${describe(issue.input)}`;
}

const ARTICLE: Readonly<Record<string, string>> = {
  int: 'an integer',
  object: 'a map',
  record: 'a map',
  array: 'a list',
  tuple: 'a list',
};

/**
 * Human messages for zod issues, used for every schema that does not bring its own message, including the
 * source and scheduler settings schemas of the registries.
 */
export const errorMap: z.core.$ZodErrorMap = (issue) => {
  const got = `, got ${describe(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      const what = ARTICLE[issue.expected] ?? `a ${issue.expected}`;
      // YAML reads `3600` as a number; command arguments and env values must be strings.
      const hint = issue.expected === 'string' && typeof issue.input !== 'object' ? ' (quote it)' : '';
      return `must be ${what}${got}${hint}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const limit = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === 'string' || issue.origin === 'array') {
        if (small && limit === 1) return 'must not be empty';
        const unit = issue.origin === 'string' ? 'character' : 'item';
        return `must have at ${small ? 'least' : 'most'} ${limit} ${unit}${limit === 1 ? '' : 's'}`;
      }
      const op = small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      return `must be ${op} ${limit}${got}`;
    }
    case 'invalid_value':
      if (issue.input === undefined) return 'required';
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_union': {
      // A discriminated union reports a bad `type` here, with the issue's path already ending in `type`.
      const key = issue.discriminator;
      if (key === undefined) return `does not match any allowed form${got}`;
      const value =
        typeof issue.input === 'object' && issue.input !== null ? Reflect.get(issue.input, key) : undefined;
      if (value === undefined) return 'required';
      const options: unknown[] = Array.isArray(issue.options) ? issue.options : [];
      return `must be one of ${options.map(String).join(', ')}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}${got}`;
    case 'invalid_key':
      return (issue.issues as readonly z.core.$ZodIssue[])[0]?.message ?? 'invalid key';
    default:
      return undefined; // custom issues carry their own message
  }
};

/** How config problems are worded: odd keys quoted, unknown keys with the merge-key hint. */
export function configStyle(prefix: Path): IssueStyle {
  return { prefix, join: joinPath, unknown: unknownKeyText };
}

/**
 * `path: unknown key`. A `<<` left over is a merge key where merging is off (a .json file, or a quoted
 * `"<<"` in YAML), which the user meant as one: say so.
 */
export function unknownKey(path: Path): string {
  return `${joinPath(path)}: ${unknownKeyText(path)}`;
}

function unknownKeyText(path: Path): string {
  const hint =
    path[path.length - 1] === '<<'
      ? ' (merge keys work in YAML files only, and only unquoted: <<: *name)'
      : '';
  return `unknown key${hint}`;
}

/** Problems listed before the rest are summed up, so a hostile file cannot flood the terminal. */
export const MAX_PROBLEMS = 100;

/** At most MAX_PROBLEMS lines, then one that says how many more there are. */
export function capped(problems: readonly string[]): readonly string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [
    ...problems.slice(0, MAX_PROBLEMS),
    `config: ${problems.length - MAX_PROBLEMS} more problems not shown`,
  ];
}
