import { displayUrl } from '../infra/redact.js';

/** Hops a read follows before it gives up; real servers need one or two. */
export const MAX_REDIRECTS = 5;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET with redirects followed by hand. fetch's own following sends every header but Authorization to
 * whatever host a redirect names, so an API key given in `headers` would go to a foreign server. Here a
 * redirect within the URL's origin keeps the headers; one to another origin is an error unless
 * `followRedirects`, and then that hop and every later one carry none of the configured headers.
 */
export async function fetchFollowing(
  url: string,
  headers: Readonly<Record<string, string>>,
  followRedirects: boolean,
  signal: AbortSignal,
): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  let sent = headers;
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { headers: sent, signal, redirect: 'manual' });
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) return response;
    // The redirect's own body is never read; dropping it frees the connection.
    await response.body?.cancel().catch(() => {});
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects (more than ${MAX_REDIRECTS})`);
    const next = nextUrl(location, current, response.status);
    if (next.origin !== origin) {
      if (!followRedirects) {
        throw new Error(
          `HTTP ${response.status} redirects to another origin, ${displayUrl(next.toString())}; not followed, ` +
            'so the configured headers and credentials stay with this server (set followRedirects: true to ' +
            'follow it without them)',
        );
      }
      sent = BARE_HEADERS;
    }
    current = next.toString();
  }
}

function nextUrl(location: string, base: string, status: number): URL {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    throw new Error(`HTTP ${status} redirects to an invalid URL`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new Error(`HTTP ${status} redirects to a ${next.protocol} URL; only http and https are followed`);
  }
  // fetch refuses URLs with credentials; a redirect must not hand out new ones either.
  if (next.username || next.password) {
    throw new Error(`HTTP ${status} redirects to a URL with credentials; not followed`);
  }
  return next;
}

/** All a foreign origin is told: the answer wanted, nothing configured (keys, cookies, credentials). */
const BARE_HEADERS: Readonly<Record<string, string>> = { accept: 'application/json' };
