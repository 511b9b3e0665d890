// Reads a config file into a Config, or throws a ConfigError listing every problem found.

import { open } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { Composer, type CST, type Document, isMap, isScalar, LineCounter, Parser, visit } from 'yaml';
import type { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.js';
import { issueLines } from '../core/issues.js';
import { byPriorityThenName } from '../core/order.js';
import type { Capacity, Config, FreezeNotice, RunSpec, ServiceSpec } from '../core/types.js';
import { type Env, MAX_DEPTH, substituteEnv } from './env.js';
import { configStyle, describe, errorMap, joinPath, type Path, unknownKey } from './problems.js';
import {
  configShape,
  DEFAULT_NOTICE_GRACE_MS,
  type HaSettings,
  haSettings,
  INSTANCE_NAME,
  type RawService,
  SERVICE_NAME,
  serviceSchema,
} from './schema.js';
import { jsonSyntaxProblem } from './strict-json.js';

/** Settings schemas by `type`, as the source and scheduler registries export them. */
export type SettingsSchemas = Readonly<Record<string, z.ZodType>>;

export interface ParseOptions {
  /** Shown in messages; `.json` files are read as strict JSON, anything else as YAML 1.2. */
  readonly file?: string;
  /** Relative `run.cwd` paths resolve against this folder; defaults to the file's folder. */
  readonly baseDir?: string;
  /** Values for `${NAME}`; defaults to process.env. */
  readonly env?: Env;
  /** When given, each service's source settings are checked by the schema for their type. */
  readonly sourceSchemas?: SettingsSchemas;
  /** When given, the scheduler settings are checked by the schema for their type. */
  readonly schedulerSchemas?: SettingsSchemas;
  /**
   * When given, the scheduler types that can freeze replicas: `warm` and `preempt: freeze` are refused for
   * the others.
   */
  readonly freezingSchedulers?: ReadonlySet<string>;
  /** The instance name when the file has no `name:`; "microscaler" by default (built-in configs). */
  readonly defaultName?: string;
}

/** A Config with the settings only the loader and the composition root know (high availability). */
export type LoadedConfig = Config & { readonly ha?: HaSettings };

/** Syntax errors listed before the rest are summed up: after the first few they are mostly echoes. */
const MAX_SYNTAX_ERRORS = 20;
/** Problems listed before the rest are summed up, so a hostile file cannot flood the terminal. */
export const MAX_PROBLEMS = 100;
/**
 * Largest config accepted, in bytes: about 1,500 services written out in full. The YAML parser handles
 * some 100-500 KiB per second of hostile text on a busy 2-core machine (one error object per token of a
 * broken file), so a bigger (or endless, like /dev/zero) file is refused before it is parsed.
 */
export const MAX_CONFIG_BYTES = 256 * 1024;
const TOO_BIG = `config: the file is larger than ${MAX_CONFIG_BYTES / 1024} KiB`;

/** Reads and parses a config file. A file that cannot be read is a ConfigError too. */
export async function loadConfig(
  path: string,
  env?: Env,
  options: Omit<ParseOptions, 'file' | 'env'> = {},
): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readLimited(path, MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([`config: cannot read ${path}: ${readFailure(error)}`]);
  }
  return parseConfig(text, {
    baseDir: dirname(resolve(path)),
    defaultName: nameFromFile(path),
    ...options,
    file: path,
    ...(env ? { env } : {}),
  });
}

/**
 * The instance name of a config file without `name:`: its base name, so that two unrelated configs are two
 * instances, never one that adopts and stops the other's replicas (`shop.yaml` -> `shop`). Lower-cased, with
 * anything the name pattern refuses as "-"; "microscaler" when nothing usable is left.
 */
export function nameFromFile(path: string): string {
  const base = basename(path, extname(path)).toLowerCase();
  const safe = base
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return INSTANCE_NAME.test(safe) ? safe : 'microscaler';
}

/** Parses config text (YAML, or JSON) into a Config; throws a ConfigError with every problem found. */
export function parseConfig(input: string, options: ParseOptions = {}): LoadedConfig {
  // Untyped callers may pass undefined (e.g. YAML's stringify(undefined)): that is an empty document.
  const text = typeof input === 'string' ? input : '';
  // UTF-16 length ≤ UTF-8 length, so the cheap test settles most big texts without encoding them.
  if (text.length > MAX_CONFIG_BYTES || Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    throw new ConfigError([TOO_BIG]);
  }
  const document = parseText(text, options.file?.toLowerCase().endsWith('.json') ?? false);
  const substituted = substituteEnv(document, options.env ?? process.env);
  const problems: string[] = [];
  const config = validate(substituted.value, options, problems);
  // A value left unsubstituted would fail its own check too; the env problem says enough.
  const mentioned = (problem: string) =>
    [...substituted.paths].some((path) => problem.startsWith(`${path}: `));
  const all = [...substituted.problems, ...problems.filter((problem) => !mentioned(problem))];
  if (all.length > 0 || !config) throw new ConfigError(all.length > 0 ? capped(all) : ['config: invalid']);
  return config;
}

/** At most MAX_PROBLEMS lines, then one that says how many more there are. */
function capped(problems: readonly string[]): readonly string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [
    ...problems.slice(0, MAX_PROBLEMS),
    `config: ${problems.length - MAX_PROBLEMS} more problems not shown`,
  ];
}

/**
 * The file's text, read in chunks so that a file over `limit` (or one that never ends, like /dev/zero or a
 * pipe that keeps writing) is refused after limit + 1 bytes instead of filling memory.
 */
async function readLimited(path: string, limit: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > limit) throw new ConfigError([TOO_BIG]);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The document as plain data, or a ConfigError with the syntax errors. */
function parseText(text: string, json: boolean): unknown {
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `config: line ${line}, column ${col}`;
  };
  let value: unknown;
  try {
    const source = text.replace(/^\uFEFF/, '');
    // The parser keeps its own stack; composing (below) recurses once per level. Past a few thousand
    // levels that overflows the call stack, and V8 may then die outright (a fatal "RegExpCompiler
    // allocation failed") instead of throwing, so depth is measured on the parser's tokens first.
    const tokens = [...new Parser(lineCounter.addNewLine).parse(source)];
    const deep = tooDeep(tokens, MAX_DEPTH);
    if (deep !== undefined) throw new ConfigError([`${at(deep)}: nested more than ${MAX_DEPTH} levels deep`]);
    const composer = new Composer({
      prettyErrors: false,
      logLevel: 'silent',
      // The JSON schema refuses YAML-only scalars (yes, ~, bare words) in a .json file.
      schema: json ? 'json' : 'core',
      // The parser's own check compares every key with every other (quadratic: minutes for a big map).
      uniqueKeys: false,
      // `<<: *defaults` merges an anchored map, as YAML 1.1 and Compose files do; JSON has no such thing.
      merge: !json,
    });
    const docs = [...composer.compose(tokens, true, source.length)];
    const [doc, second] = docs;
    if (!doc) throw new ConfigError(['config: the document is empty']);
    if (json) {
      const problem = jsonSyntaxProblem(source);
      if (problem) throw new ConfigError([`${at(problem.offset)}: not valid JSON: ${problem.message}`]);
    }
    if (second) {
      const offset = second.range[0];
      throw new ConfigError([`${at(offset)}: a second document (after ---); a config is one document`]);
    }
    if (doc.errors.length === 0) {
      const duplicates = duplicateKeys(doc, lineCounter, !json);
      if (duplicates.length > 0) throw new ConfigError(capped(duplicates));
    }
    if (doc.errors.length > 0) {
      // The parser reports a stack overflow once per level it unwinds; one line says it.
      const overflow = doc.errors.find((error) => error.message.includes('call stack'));
      const shown = overflow ? [overflow] : doc.errors.slice(0, MAX_SYNTAX_ERRORS);
      const lines = shown.map((error) => {
        const message = error === overflow ? 'nested too deeply' : error.message.replace(/\s+/g, ' ');
        return `${at(error.pos[0])}: ${message}`;
      });
      const more = doc.errors.length - MAX_SYNTAX_ERRORS;
      if (!overflow && more > 0) lines.push(`config: ${more} more syntax errors`);
      throw new ConfigError(lines);
    }
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // Alias bombs (the message says so), or nesting deep enough to exhaust the stack.
    const message = errorMessage(error).includes('call stack') ? 'nested too deeply' : errorMessage(error);
    throw new ConfigError([`config: ${message}`]);
  }
  if (value === null || value === undefined) throw new ConfigError(['config: the document is empty']);
  return value;
}

/**
 * The offset of the first collection nested deeper than `limit` in the parser's tokens, or undefined.
 * A walk with an explicit stack: it must not recurse, since the tokens may be nested a million deep.
 */
function tooDeep(tokens: readonly CST.Token[], limit: number): number | undefined {
  type Node = { type?: string; offset?: number; items?: unknown[]; key?: unknown; value?: unknown };
  const stack: Array<[Node, number]> = tokens.map((token) => [token as Node, 0]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, above] = next;
    const collection =
      node.type === 'block-map' || node.type === 'block-seq' || node.type === 'flow-collection';
    const depth = collection ? above + 1 : above;
    if (depth > limit) return node.offset ?? 0;
    // Documents and collection items hold their children under key and value; collections under items.
    for (const child of [node.key, node.value, ...(node.items ?? [])]) {
      if (typeof child === 'object' && child !== null) stack.push([child as Node, depth]);
    }
  }
  return undefined;
}

const MERGE_KEY = '<<';
const EXTENSION_PREFIX = 'x-';

/**
 * `config: line L, column C: duplicate key "K"` for every repeated key of every map, in one pass with a set
 * per map. Keys are compared as the strings they become (`1` and `"1"` collide), since that is what a
 * silently dropped setting would look like after loading.
 */
function duplicateKeys(doc: Document, lineCounter: LineCounter, merge: boolean): string[] {
  const problems: string[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue; // complex keys (`? [a, b]`) never match a setting anyway
        const name = String(key.value);
        // Several merge keys in one map each merge their maps (earlier ones win), as `<<: [*a, *b]` does.
        if (merge && name === MERGE_KEY && key.type === 'PLAIN') continue;
        if (!seen.has(name)) {
          seen.add(name);
          continue;
        }
        const { line, col } = lineCounter.linePos(key.range?.[0] ?? 0);
        problems.push(`config: line ${line}, column ${col}: duplicate key ${describe(name)}`);
      }
    },
  });
  return problems;
}

function validate(doc: unknown, options: ParseOptions, problems: string[]): LoadedConfig | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(`config: must be a map of settings, got ${describe(doc)}`);
    return undefined;
  }
  const fields = doc as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    // `x-` keys are the user's own (as in Compose files): a place for anchors that `<<` merges elsewhere.
    if (!Object.hasOwn(configShape, key) && !key.startsWith(EXTENSION_PREFIX))
      problems.push(unknownKey([key]));
  }

  // Each key on its own, so a mistake in one still lets the others (and cross-field rules) be checked.
  const check = <T extends z.ZodType>(path: Path, schema: T, value: unknown): z.output<T> | undefined => {
    const result = schema.safeParse(value, { error: errorMap });
    if (result.success) return result.data;
    problems.push(...issueLines(result.error.issues, configStyle(path)));
    return undefined;
  };
  const name = check(
    ['name'],
    configShape.name,
    fields.name === undefined ? options.defaultName : fields.name,
  );
  const capacity = check(['capacity'], configShape.capacity, fields.capacity);
  const intervalMs = check(['interval'], configShape.interval, fields.interval);
  const readTimeoutMs = check(['readTimeout'], configShape.readTimeout, fields.readTimeout);
  const scheduler = check(['scheduler'], configShape.scheduler, fields.scheduler);
  const api = check(['api'], configShape.api, fields.api);
  const ha = check(['ha'], configShape.ha, fields.ha);
  // The input's own keys, not zod's copy: that one would drop a service named `__proto__` without a word.
  const rawServices = check(['services'], configShape.services, fields.services)
    ? (fields.services as Record<string, unknown>)
    : {};

  if (scheduler && options.schedulerSchemas) {
    checkSettings(['scheduler'], scheduler, options.schedulerSchemas, check, problems);
  }

  const services: Array<[string, RawService]> = [];
  for (const [serviceName, raw] of Object.entries(rawServices)) {
    const path = ['services', serviceName];
    if (!SERVICE_NAME.test(serviceName)) {
      problems.push(
        `${joinPath(path)}: service names must be 1-63 lower-case letters, digits or "-", starting with a letter or digit`,
      );
    }
    const service = check(path, serviceSchema, raw);
    if (!service) continue;
    problems.push(...crossCheck(path, service, capacity), ...noticeProblems(path, service));
    if (scheduler && options.freezingSchedulers && !options.freezingSchedulers.has(scheduler.type)) {
      const can = [...options.freezingSchedulers].join(' and ');
      const cannot = `the ${scheduler.type} back-end cannot freeze replicas (only ${can} can)`;
      if (service.warm.replicas > 0) problems.push(`${joinPath([...path, 'warm'])}: ${cannot}`);
      if (service.preempt.freeze) problems.push(`${joinPath([...path, 'preempt'])}: ${cannot}`);
    }
    if (scheduler && scheduler.type !== 'process' && service.run.logs) {
      // Silently ignored it would look like a cap that holds: other back-ends' logs are the engine's.
      problems.push(
        `${joinPath([...path, 'run', 'logs'])}: only the process back-end writes replica logs (this config uses ${scheduler.type}; set log limits there)`,
      );
    }
    if (service.demand.source && options.sourceSchemas) {
      checkSettings(
        [...path, 'demand', 'source'],
        service.demand.source,
        options.sourceSchemas,
        check,
        problems,
      );
    }
    services.push([serviceName, service]);
  }

  if (problems.length > 0) return undefined;
  if (!name || !capacity || intervalMs === undefined || readTimeoutMs === undefined || !scheduler || !api) {
    return undefined;
  }
  const baseDir = options.baseDir ?? (options.file ? dirname(resolve(options.file)) : undefined);
  return {
    name,
    capacity,
    intervalMs,
    readTimeoutMs,
    scheduler,
    services: services
      .map(([serviceName, service]) =>
        toServiceSpec(serviceName, service, capacity, baseDir, scheduler.type === 'process'),
      )
      .sort(byPriorityThenName),
    api,
    ...(ha ? { ha: haSettings(ha, name) } : {}),
  };
}

/**
 * Rules that relate several fields of one service, each reported on its own line.
 * Not rules: max may exceed capacity.replicas (capacity is shared; max only caps this service), and run.cpu
 * and run.memory stay optional when capacity counts cpu or memory, as in DESIGN.md's own example (`batch`):
 * a service without them reserves 0, which the planner does not count against that budget.
 */
function crossCheck(path: Path, service: RawService, capacity: Capacity | undefined): string[] {
  const problems: string[] = [];
  const at = (...rest: string[]) => joinPath([...path, ...rest]);
  const { min, demand } = service;
  const max = service.max ?? capacity?.replicas;
  const ordered = max === undefined || min <= max;
  if (!ordered) {
    problems.push(
      service.max === undefined
        ? `${at('min')}: must be ≤ max, which defaults to capacity.replicas (${max}), got ${min}`
        : `${at('min')}: must be ≤ max (${max}), got ${min}`,
    );
  }
  const rule = demand.rule;
  if ((rule.type === 'target' || rule.type === 'queue') && !demand.source) {
    problems.push(`${at('demand', 'source')}: required for rule type ${rule.type}`);
  }
  if ((rule.type === 'remainder' || rule.type === 'fixed') && demand.source) {
    problems.push(`${at('demand', 'source')}: not used by rule type ${rule.type}; remove it`);
  }
  if (
    rule.type === 'fixed' &&
    ordered &&
    (rule.replicas < min || (max !== undefined && rule.replicas > max))
  ) {
    problems.push(
      `${at('demand', 'rule', 'replicas')}: must be within min and max (${min}..${max ?? '∞'}), got ${rule.replicas}`,
    );
  }
  return problems;
}

/** Checks a source's or scheduler's settings (all but `type`) with the registry's schema for its type. */
function checkSettings(
  path: Path,
  spec: { readonly type: string; readonly [setting: string]: unknown },
  schemas: SettingsSchemas,
  check: (path: Path, schema: z.ZodType, value: unknown) => unknown,
  problems: string[],
): void {
  const { type, ...settings } = spec;
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    problems.push(`${joinPath([...path, 'type'])}: must be one of ${Object.keys(schemas).sort().join(', ')}`);
    return;
  }
  check(path, schema, settings);
}

function toServiceSpec(
  name: string,
  service: RawService,
  capacity: Capacity,
  baseDir: string | undefined,
  localCommand: boolean,
): ServiceSpec {
  const { stopGrace, logs, ...run } = service.run;
  const cwd = run.cwd !== undefined && baseDir !== undefined ? resolve(baseDir, run.cwd) : run.cwd;
  const command = localCommand ? localProgram(run.command, cwd, baseDir) : run.command;
  const notice = freezeNotice(service);
  const runSpec: RunSpec = {
    ...run,
    ...(cwd !== undefined ? { cwd } : {}),
    ...(command !== undefined ? { command } : {}),
    stopGraceMs: stopGrace,
    ...(notice ? { freezeNotice: notice } : {}),
    ...(logs
      ? {
          logs: {
            maxSize: logs.maxSize,
            keep: logs.keep,
            retentionMs: logs.retention,
            keepStopped: logs.keepStopped,
          },
        }
      : {}),
  };
  return {
    name,
    priority: service.priority,
    min: service.min,
    max: service.max ?? capacity.replicas,
    rule: service.demand.rule,
    resources: { cpu: run.cpu ?? 0, memory: run.memory ?? 0 },
    scaleDownWindowMs: service.scaleDownWindow,
    ...(service.warm.replicas > 0 ? { warm: service.warm.replicas } : {}),
    ...(service.preempt.freeze ? { preempt: 'freeze' as const } : {}),
    run: runSpec,
    ...(service.demand.source ? { source: service.demand.source } : {}),
  };
}

/**
 * A process replica's program given as a relative path (`./w.sh`, `bin/worker`: it holds a `/`) is made
 * absolute against the folder it runs in (`run.cwd`, which is where the spawn would look), or else the
 * config's folder, never the folder microscaler was started from. A bare name (`sleep`) stays for PATH.
 * Other back-ends' commands run inside a container, where the config's folder means nothing.
 */
function localProgram(
  command: readonly string[] | undefined,
  cwd: string | undefined,
  baseDir: string | undefined,
): readonly string[] | undefined {
  const [program, ...args] = command ?? [];
  const from = cwd ?? baseDir;
  if (program === undefined || !program.includes('/') || isAbsolute(program) || from === undefined) {
    return command;
  }
  return [resolve(from, program), ...args];
}

/**
 * A service has one freeze notice, for every freeze of its replicas (preempted, or put into its pool): the
 * back-end cannot tell them apart. It may be written under `preempt:` or `warm:`, or under both alike.
 */
function freezeNotice(service: RawService): FreezeNotice | undefined {
  const given = [service.preempt, service.warm].find((form) => form.notify !== undefined);
  if (given?.notify === undefined) return undefined;
  return { notify: given.notify, graceMs: given.grace ?? DEFAULT_NOTICE_GRACE_MS };
}

function noticeProblems(path: Path, service: RawService): string[] {
  const { preempt, warm } = service;
  if (preempt.notify === undefined || warm.notify === undefined) return [];
  const graceOf = (form: { grace?: number }) => form.grace ?? DEFAULT_NOTICE_GRACE_MS;
  if (preempt.notify === warm.notify && graceOf(preempt) === graceOf(warm)) return [];
  return [
    `${joinPath([...path, 'warm', 'notify'])}: differs from preempt's notify or grace; a service has one freeze notice (give it once)`,
  ];
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return errorMessage(error);
}
