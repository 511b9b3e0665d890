// JSON over HTTP for the cluster back-ends (Nomad, Marathon). Network failures and timeouts become
// TransientError (the controller retries them); an answered request returns its status for the caller to judge,
// with answerError() for the kind: 401, 403 and 404 are TerminalError (held, not retried on a timer).
// Tokens travel in headers only, so no message here can contain one.
import { TerminalError, TransientError } from '../core/errors.js';

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  /** The body as text, for error messages (bounded). */
  readonly text: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Names the back-end in messages, e.g. "nomad scheduler". */
  readonly who: string;
}

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
    // Nomad answers errors as plain text; keep it as is.
  }
  return { status: response.status, body, text: text.slice(0, 300).trim() };
}

/**
 * The error for a failed answer: 401, 403 and 404 cannot change by asking again (TerminalError: the controller
 * holds the service until something changes); 5xx and 429 may (TransientError: retried with backoff).
 */
export function answerError(status: number, text: string): Error {
  if (status === 401 || status === 403 || status === 404) return new TerminalError(text);
  if (status >= 500 || status === 429) return new TransientError(text);
  return new Error(text);
}

/** The text an error answer carries: Marathon's {message}, Nomad's plain text. */
export function answerMessage(answer: HttpAnswer): string {
  const b = answer.body;
  if (b && typeof b === 'object' && 'message' in b && typeof b.message === 'string') return b.message;
  return answer.text || `HTTP ${answer.status}`;
}
