// `status`: reads GET /api/state of a running instance and says plainly what was wrong when it cannot.
import { errorMessage } from '../core/errors.js';
import type { Snapshot } from '../core/types.js';

/** Why `status` could not read an instance's state; the message names the URL. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
}

/** The answer of `${base}/api/state`, checked to be a microscaler state, else a StatusError naming the URL. */
export async function readState(base: string, timeoutMs = 5000): Promise<Snapshot> {
  const url = `${base.replace(/\/+$/, '')}/api/state`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StatusError(`--url ${base}: not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new StatusError(`--url ${base}: expected an http:// or https:// URL`);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new StatusError(`cannot reach ${url}: ${fetchFailure(error, timeoutMs)}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new StatusError(`${url}: the answer broke off: ${fetchFailure(error, timeoutMs)}`);
  }
  if (!response.ok) {
    const said = jsonError(text);
    throw new StatusError(
      `${url} answered HTTP ${response.status}${said ? `: ${said}` : ''} (is it a microscaler instance?)`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new StatusError(
      `${url} answered something that is not JSON: ${preview(text)} (not a microscaler instance?)`,
    );
  }
  const problem = stateProblem(body);
  if (problem) throw new StatusError(`${url} answered JSON that is not a microscaler state: ${problem}`);
  return body as Snapshot;
}

/** What makes `body` not a Snapshot, or undefined when it is one (the fields `status` prints). */
export function stateProblem(body: unknown): string | undefined {
  if (!isObject(body)) return `expected an object, got ${kind(body)}`;
  if (!isObject(body.capacity)) return `"capacity" is ${kind(body.capacity)}, expected an object`;
  for (const key of ['replicas', 'used'] as const) {
    if (typeof body.capacity[key] !== 'number')
      return `"capacity.${key}" is ${kind(body.capacity[key])}, expected a number`;
  }
  if (typeof body.time !== 'string') return `"time" is ${kind(body.time)}, expected a string`;
  if (!Array.isArray(body.services)) return `"services" is ${kind(body.services)}, expected an array`;
  for (const [i, s] of body.services.entries()) {
    if (!isObject(s) || typeof s.name !== 'string') return `"services[${i}]" has no "name"`;
    for (const key of ['priority', 'need', 'desired', 'running', 'starting', 'stopping']) {
      if (typeof s[key] !== 'number') return `"services[${i}].${key}" is ${kind(s[key])}, expected a number`;
    }
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function preview(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  if (line === '') return 'an empty body';
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}

/** The `{"error": ...}` of a microscaler error answer, if that is what it is. */
function jsonError(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    return isObject(body) && typeof body.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/** undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause. */
function fetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED:
      'connection refused (nothing listens there: is the instance running, with --listen at this address?)',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name cannot be resolved now',
    ECONNRESET: 'the connection was reset',
    EHOSTUNREACH: 'the host is unreachable',
    ETIMEDOUT: 'the connection timed out',
  };
  if (code && known[code]) return `${known[code]} [${code}]`;
  if (cause?.message) return cause.message;
  return errorMessage(error);
}
