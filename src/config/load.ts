// Loads a config: file or text in, a Config out (read, parse, substitute env, validate, convert), or a ConfigError listing every problem.

import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { type LoadedConfig, toConfig } from './convert.js';
import { type Env, substituteEnv } from './env.js';
import { capped } from './problems.js';
import { MAX_CONFIG_BYTES, nameFromFile, readConfigText, TOO_BIG } from './read.js';
import { type ValidateOptions, validate } from './validate.js';
import { parseText } from './yaml.js';

export type { LoadedConfig } from './convert.js';
export { MAX_PROBLEMS } from './problems.js';
export { MAX_CONFIG_BYTES, nameFromFile } from './read.js';
export type { SettingsSchemas } from './validate.js';

export interface ParseOptions extends ValidateOptions {
  /** Shown in messages; `.json` files are read as strict JSON, anything else as YAML 1.2. */
  readonly file?: string;
  /** Relative `run.cwd` paths resolve against this folder; defaults to the file's folder. */
  readonly baseDir?: string;
  /** Values for `${NAME}`; defaults to process.env. */
  readonly env?: Env;
}

/** Reads and parses a config file. A file that cannot be read is a ConfigError too. */
export async function loadConfig(
  path: string,
  env?: Env,
  options: Omit<ParseOptions, 'file' | 'env'> = {},
): Promise<LoadedConfig> {
  const text = await readConfigText(path);
  return parseConfig(text, {
    baseDir: dirname(resolve(path)),
    defaultName: nameFromFile(path),
    ...options,
    file: path,
    ...(env ? { env } : {}),
  });
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
  const valid = validate(substituted.value, options, problems);
  // A value left unsubstituted would fail its own check too; the env problem says enough.
  const mentioned = (problem: string) =>
    [...substituted.paths].some((path) => problem.startsWith(`${path}: `));
  const all = [...substituted.problems, ...problems.filter((problem) => !mentioned(problem))];
  if (all.length > 0 || !valid) throw new ConfigError(all.length > 0 ? capped(all) : ['config: invalid']);
  const baseDir = options.baseDir ?? (options.file ? dirname(resolve(options.file)) : undefined);
  return toConfig(valid, baseDir);
}
