// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} here is config syntax, not a template
// `${NAME}` in string values → the environment variable's value, so secrets stay out of config files.
import { joinPath, type Path } from './problems.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Deeper than any sensible config; stops alias loops and hostile input before they exhaust the stack. */
export const MAX_DEPTH = 64;

// `$${` is a literal `${`; `${NAME}` a reference; any other `${` a mistake (e.g. `${ NAME }`, `${NAME`).
const TOKEN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{/g;

const MALFORMED = '"${" must start a reference like ${NAME} (write $${ for a literal "${")';

export interface Substituted {
  readonly value: unknown;
  /** Unset variables, malformed references, nesting deeper than MAX_DEPTH, alias loops. */
  readonly problems: readonly string[];
  /** The (joined) paths those problems are about. */
  readonly paths: ReadonlySet<string>;
}

/**
 * A copy of `value` with every `${NAME}` in its string values (not its keys) replaced by env[NAME].
 * A value is inserted as is, never scanned again; an empty variable counts as set. Where there is a
 * problem the offending text is left as it was.
 */
export function substituteEnv(value: unknown, env: Env): Substituted {
  const problems: string[] = [];
  const paths = new Set<string>();
  const problem = (path: Path, message: string) => {
    paths.add(joinPath(path));
    problems.push(`${joinPath(path)}: ${message}`);
  };
  const ancestors = new Set<object>();

  const substitute = (text: string, path: Path): string => {
    if (!text.includes('${')) return text;
    const missing = new Set<string>();
    let malformed = false;
    const result = text.replace(TOKEN, (match, name: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined) {
        malformed = true;
        return match;
      }
      const replacement = env[name];
      if (replacement === undefined) missing.add(name);
      return replacement ?? match;
    });
    for (const name of missing) problem(path, `environment variable ${name} is not set`);
    if (malformed) problem(path, MALFORMED);
    return result;
  };

  const walk = (node: unknown, path: Path): unknown => {
    if (typeof node === 'string') return substitute(node, path);
    if (typeof node !== 'object' || node === null) return node;
    if (ancestors.has(node)) {
      problem(path, 'refers to itself (a YAML alias loop)');
      return null;
    }
    if (path.length >= MAX_DEPTH) {
      problem(path, `nested more than ${MAX_DEPTH} levels deep`);
      return null;
    }
    ancestors.add(node);
    try {
      if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
      if (Object.getPrototypeOf(node) !== Object.prototype) return node; // e.g. !!binary data: left to the schema
      // fromEntries defines own properties, so a `__proto__` key stays a plain (unknown) key.
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    } finally {
      ancestors.delete(node);
    }
  };

  return { value: walk(value, []), problems, paths };
}
