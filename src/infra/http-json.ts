// JSON over HTTP, shared by the cluster back-ends (Nomad, Marathon) and the http sources: a URL's userinfo
// becomes an Authorization header (fetch refuses URLs with credentials, and a header never reaches a
// message), network failures and timeouts become TransientError, and an answered status maps to an error
// kind: 401, 403 and 404 are TerminalError (asking again cannot change them), 5xx and 429 TransientError.
import { TerminalError, TransientError } from '../core/errors.js';
import { safeUrl } from './redact.js';

/** A URL without its userinfo, and the Basic Authorization header that carries it instead (if any). */
export interface SplitUrl {
  readonly url: URL;
  /** The userinfo as given, percent-decoded; undefined when the URL has none. */
  readonly user?: { readonly name: string; readonly password: string };
}

/** Takes the credentials out of a URL (invalid URLs throw "invalid URL"). */
export function splitUserinfo(url: string | URL): SplitUrl {
  const parsed = typeof url === 'string' ? safeUrl(url) : new URL(url);
  if (!parsed) throw new Error('invalid URL');
  if (!parsed.username && !parsed.password) return { url: parsed };
  const user = { name: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed, user };
}

export function basicAuth(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  /** The body as text, for error messages (bounded). */
  readonly text: string;
}

export interface HttpRequest {
  readonly method: string;
  /** Without userinfo (see splitUserinfo): the messages below show its origin and path. */
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Names the caller in messages, e.g. "nomad scheduler". */
  readonly who: string;
}

/**
 * One request with a JSON body in and out. Any status is returned for the caller to judge (answerError);
 * only a request that got no answer throws: TransientError, or the caller's own abort as it came.
 */
export async function requestJson(req: HttpRequest): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const where = `${req.method} ${req.url.origin}${req.url.pathname}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(req.url, {
      method: req.method,
      headers: {
        accept: 'application/json',
        ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...req.headers,
      },
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (timeout.aborted) {
      throw new TransientError(`${req.who}: ${where} did not answer within ${req.timeoutMs} ms`);
    }
    if (req.signal?.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new TransientError(`${req.who}: cannot reach ${req.url.origin} (${where})${cause}`);
  }
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Some servers (Nomad) answer errors as plain text; keep it as is.
  }
  return { status: response.status, body, text: text.slice(0, 300).trim() };
}

/**
 * The error for a failed answer: 401, 403 and 404 cannot change by asking again (TerminalError: the controller
 * holds the service until something changes); 5xx and 429 may (TransientError: retried with backoff).
 */
export function answerError(status: number, text: string): Error {
  if (isTerminalStatus(status)) return new TerminalError(text);
  if (status >= 500 || status === 429) return new TransientError(text);
  return new Error(text);
}

export function isTerminalStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 404;
}

/** The text an error answer carries: a JSON {message} (Marathon), else the plain text (Nomad). */
export function answerMessage(answer: HttpAnswer): string {
  const b = answer.body;
  if (b && typeof b === 'object' && 'message' in b && typeof b.message === 'string') return b.message;
  return answer.text || `HTTP ${answer.status}`;
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...). */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: string }).code;
    return `${error.message}: ${code && !cause.message.includes(code) ? `${code} ` : ''}${cause.message}`;
  }
  return error.message;
}
