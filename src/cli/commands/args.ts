// The command line's shared parsing: flags (strict, with --log-level and --help on every command) and values.
import { parseArgs } from 'node:util';
import { errorMessage } from '../../core/errors.js';
import type { LogLevel } from '../../core/ports.js';
import { parseDuration } from '../../core/units.js';
import { UsageError } from '../usage-error.js';

export type Flags = Record<string, string | boolean | string[] | undefined>;
export type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** The command's flags; a bad or unknown one is a UsageError. */
export function options(args: string[], spec: Spec): Flags {
  try {
    return parseArgs({
      args,
      options: { ...spec, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }).values as Flags;
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

export function logLevel(value: unknown): LogLevel {
  const level = (value ?? 'warn') as string;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new UsageError(`--log-level: unknown level "${level}"`);
  return level as LogLevel;
}

export function requireConfig(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new UsageError('-c FILE is required');
  return value;
}

/** A duration flag's value in milliseconds; undefined when the flag is absent. */
export function durationArg(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(String(value));
  } catch (error) {
    throw new UsageError(`${flag}: ${errorMessage(error)}`);
  }
}
