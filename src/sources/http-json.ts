// The http-like sources' GET of a JSON answer: the shared userinfo and fetch-error handling of
// infra/http-json, with this folder's redirect rules (http-redirect.ts) and messages.
import { basicAuth, describeFetchError, splitUserinfo } from '../infra/http-json.js';
import { fetchFollowing } from './http-redirect.js';

/** A URL split into what fetch accepts (no userinfo) and a Basic Authorization header for its userinfo. */
export interface HttpTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Follow a redirect to another origin (without the headers); by default it is an error. */
  readonly followRedirects: boolean;
}

/**
 * fetch refuses URLs with credentials in them, so `http://user:pass@host/` becomes the bare URL and an
 * Authorization header. Explicit headers win over the URL's userinfo.
 */
export function httpTarget(
  url: string,
  headers: Readonly<Record<string, string>> = {},
  followRedirects = false,
): HttpTarget {
  const { url: bare, user } = splitUserinfo(url);
  const out: Record<string, string> = { accept: 'application/json' };
  if (user) out.authorization = basicAuth(user.name, user.password);
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return { url: bare.toString(), headers: out, followRedirects };
}

/**
 * GETs a URL and parses its JSON body. fetch keeps connections alive between calls (undici's pool), so
 * successive reads reuse one connection. A non-2xx status is an error that quotes the start of the body,
 * since servers put the reason there; `onStatus` may turn a status into a better message first.
 */
export async function getJson(
  target: HttpTarget,
  signal: AbortSignal,
  onStatus?: (status: number, body: unknown) => string | undefined,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchFollowing(target.url, target.headers, target.followRedirects, signal);
  } catch (error) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : error;
    throw new Error(describeFetchError(error));
  }
  const text = await response.text();
  let body: unknown;
  let parsed = true;
  try {
    body = JSON.parse(text);
  } catch {
    parsed = false;
  }
  if (!response.ok) {
    const special = onStatus?.(response.status, body);
    if (special) throw new Error(special);
    const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
    throw new Error(`HTTP ${response.status} ${response.statusText}${snippet ? `: ${snippet}` : ''}`);
  }
  if (!parsed) {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new Error(`response is not JSON (${type}): ${JSON.stringify(text.slice(0, 60))}`);
  }
  return body;
}
