// The cluster back-ends' (Nomad, Marathon) one way to call their API over infra/http-json: a base URL whose
// userinfo became a header (so no message shows it), fixed headers and query, and each failed status turned
// into the back-end's message with its kind: 404, 401 and 403 TerminalError, the rest by answerError().
import { TerminalError } from '../core/errors.js';
import {
  answerError,
  answerMessage,
  type HttpAnswer,
  requestJson,
  splitUserinfo,
} from '../infra/http-json.js';
import { safeUrl } from '../infra/redact.js';

/**
 * An address as messages may show it: its userinfo (a proxy's basic auth) taken out and returned apart,
 * for a header. An address that does not parse is kept as given, to fail on the first request.
 */
export function clusterBase(address: string): {
  base: string;
  user?: { readonly name: string; readonly password: string };
} {
  const trimmed = address.replace(/\/+$/, '');
  if (!safeUrl(trimmed)) return { base: trimmed };
  const { url, user } = splitUserinfo(trimmed);
  return { base: url.toString().replace(/\/+$/, ''), ...(user ? { user } : {}) };
}

export interface ClusterApiOptions {
  /** Without userinfo, no trailing slash; shown in messages. */
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Added to every request (Nomad's namespace and region). */
  readonly query?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Names the back-end in messages, e.g. "nomad scheduler". */
  readonly who: string;
  /** The message for a 404 of `what` ("job web", "app /shop/web"). */
  readonly notFound: (what: string, message: string) => string;
  /** What to check after a 401 or 403, e.g. which permissions the token needs. */
  readonly accessHint: string;
}

export interface ClusterCall {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
}

export class ClusterApi {
  constructor(private readonly opts: ClusterApiOptions) {}

  /** The answer whatever its status; only a request that got none throws. */
  send(method: string, path: string, call: ClusterCall = {}): Promise<HttpAnswer> {
    const url = new URL(this.opts.base + path);
    for (const [k, v] of Object.entries({ ...this.opts.query, ...call.query })) url.searchParams.set(k, v);
    return requestJson({
      method,
      url,
      headers: this.opts.headers,
      body: call.body,
      timeoutMs: this.opts.timeoutMs,
      signal: call.signal,
      who: this.opts.who,
    });
  }

  /** The body of a 2xx answer; any other status throws failure(). */
  async call<T>(method: string, path: string, what: string, call: ClusterCall = {}): Promise<T> {
    const answer = await this.send(method, path, call);
    if (answer.status >= 300) throw this.failure(answer, what);
    return answer.body as T;
  }

  failure(answer: HttpAnswer, what: string): Error {
    const message = answerMessage(answer);
    const { who, base } = this.opts;
    // Terminal: asking again cannot change them (the controller holds the service until something changes).
    if (answer.status === 404) return new TerminalError(this.opts.notFound(what, message));
    if (answer.status === 401 || answer.status === 403) {
      return new TerminalError(
        `${who}: ${base} refused access to ${what} (HTTP ${answer.status}: ${message}); ${this.opts.accessHint}`,
      );
    }
    return answerError(answer.status, `${who}: ${what}: HTTP ${answer.status}: ${message}`);
  }
}
