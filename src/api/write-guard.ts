// The write guard: who may change anything (token, loopback, same origin, no DNS rebinding).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context } from './context.js';
import { HttpError } from './http.js';
import { isLoopback } from './listen-address.js';

/** Throws the 403 or 401 a write gets when it may not change anything. */
export function authorize(req: IncomingMessage, ctx: Context): void {
  if (ctx.access === 'disabled') {
    throw new HttpError(
      403,
      'changes are disabled: the API listens on a non-loopback address, so a token must be configured (api.token or MICROSCALER_TOKEN)',
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && originHost(origin) !== req.headers.host?.toLowerCase()) {
    throw new HttpError(403, 'cross-origin requests may not change anything');
  }
  const host = req.headers.host;
  if (ctx.loopback && host !== undefined && !isLoopback(host.replace(/:\d*$/, ''))) {
    throw new HttpError(403, `Host "${host}" is not a loopback name; use 127.0.0.1, [::1] or localhost`);
  }
  if (ctx.access === 'open' || !ctx.tokenDigest) return;
  const given = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
  const challenge = { 'WWW-Authenticate': 'Bearer realm="microscaler"' };
  if (given === undefined) {
    throw new HttpError(401, 'missing token: send Authorization: Bearer <token>', challenge);
  }
  // Digests have equal length, so timingSafeEqual neither throws nor leaks the token's length.
  if (!timingSafeEqual(digest(given), ctx.tokenDigest)) throw new HttpError(401, 'wrong token', challenge);
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // e.g. "null" from sandboxed frames and file:// pages
  }
}

export function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
