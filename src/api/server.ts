// The HTTP API of a running instance (DESIGN.md, Contracts: HTTP API), on node:http alone.
//
// Routes: GET /healthz, GET /api/state, POST /api/services/NAME/demand {"value": N}.
// Every response is JSON (errors are {"error": "..."}) with Cache-Control: no-store.
//
// Decisions where the design is silent:
// - pushDemand refuses by throwing UnknownServiceError (→ 404) or NotPushableError (→ 409) from ./errors.js;
//   any other error is logged and answered 500 "internal error". It may return a promise.
// - The demand body must be a JSON object whose `value` is a finite number in [0, 1e12]; other fields are
//   ignored. Content-Type is not checked: curl's default (form-urlencoded) works as long as the body is JSON.
// - Write access is decided from the listen address as given, before binding: loopback (127.0.0.0/8, ::1,
//   localhost) without a token is open; with a token configured the token is required even on loopback; on
//   any other address (including `:8080` = every interface, and hostnames) a token is required, and without
//   one every POST is refused with 403. An empty token counts as none.
// - Because any Content-Type is accepted, a web page could POST here as a "simple" cross-origin request.
//   POSTs carrying an Origin header that differs from Host are therefore refused (403), and on loopback so
//   are POSTs whose Host header is not a loopback name (DNS rebinding). GETs are not restricted.
// - GET routes also answer HEAD. Query strings are ignored. Unknown errors never leak their message.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { Snapshot } from '../core/types.js';
import { NotPushableError, UnknownServiceError } from './errors.js';
import { isLoopback, parseListen } from './listen-address.js';

/** Largest request body read; bigger ones get 413 without being buffered. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest demand value accepted. */
export const MAX_DEMAND = 1e12;
const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface ApiServerOptions {
  /** `127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:9000`, `:8080` (every interface), or a port (on 127.0.0.1); 0 = ephemeral. */
  readonly listen: string | number;
  readonly snapshot: () => Snapshot;
  /** Sets a push source's value. Throws UnknownServiceError or NotPushableError to refuse. */
  readonly pushDemand: (service: string, value: number) => void | Promise<void>;
  /** Bearer token for POST routes; required when listening on a non-loopback address. */
  readonly token?: string;
  readonly logger?: Logger;
}

export interface ApiServer {
  /** Where a client on this machine reaches the server, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops listening and ends open connections (keep-alive, later SSE streams). Idempotent. */
  close(): Promise<void>;
}

/** How POST routes are guarded: open (loopback, no token), token (required), disabled (no token, not loopback). */
type WriteAccess = 'open' | 'token' | 'disabled';

interface Context {
  readonly options: ApiServerOptions;
  readonly logger: Logger;
  readonly access: WriteAccess;
  readonly loopback: boolean;
  readonly tokenDigest: Buffer | undefined;
}

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  params: string[],
) => void | Promise<void>;

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

/** Thrown by handlers to answer with a JSON error. */
class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/healthz$/, methods: { GET: (_req, res) => sendJson(res, 200, { ok: true }) } },
  {
    pattern: /^\/api\/state$/,
    methods: { GET: (_req, res, ctx) => sendJson(res, 200, ctx.options.snapshot()) },
  },
  { pattern: /^\/api\/services\/([^/]+)\/demand$/, methods: { POST: postDemand } },
  // Later: GET /api/events (SSE; writes its own text/event-stream), GET /metrics, GET / (dashboard).
];

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

const quiet: Logger = { log() {} };

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const logger = options.logger ?? quiet;
  const { host, port } = parseListen(options.listen);
  const loopback = host !== undefined && isLoopback(host);
  const token = options.token || undefined;
  const access: WriteAccess = token ? 'token' : loopback ? 'open' : 'disabled';
  const ctx: Context = { options, logger, access, loopback, tokenDigest: token ? digest(token) : undefined };

  const server = createServer((req, res) => void handle(req, res, ctx));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const url = reachableUrl(server.address() as AddressInfo);
  logger.log('info', 'api listening', { url, listen: String(options.listen), writes: access });
  if (access === 'disabled') {
    logger.log('warn', 'api listens on a non-loopback address without a token: POST routes answer 403', {
      listen: String(options.listen),
      fix: 'configure api.token',
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  res.on('finish', () =>
    ctx.logger.log('debug', 'api request', { method: req.method, path, status: res.statusCode }),
  );
  try {
    const route = ROUTES.find((r) => r.pattern.test(path));
    if (!route) throw new HttpError(404, `not found: ${path}`);
    const method = req.method === 'HEAD' && route.methods.GET ? 'GET' : (req.method ?? '');
    const handler = Object.hasOwn(route.methods, method) ? route.methods[method] : undefined;
    if (!handler) {
      const allow = Object.keys(route.methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      throw new HttpError(405, `${req.method} is not allowed on ${path}; use ${allow.join(' or ')}`, {
        Allow: allow.join(', '),
      });
    }
    await handler(req, res, ctx, route.pattern.exec(path)?.slice(1) ?? []);
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
    } else if (error instanceof HttpError) {
      sendJson(res, error.status, { error: error.message }, error.headers);
    } else {
      ctx.logger.log('error', 'api request failed', { method: req.method, path, error: errorMessage(error) });
      sendJson(res, 500, { error: 'internal error' });
    }
  }
}

async function postDemand(req: IncomingMessage, res: ServerResponse, ctx: Context, params: string[]) {
  authorize(req, ctx);
  const service = serviceName(params[0] ?? '');
  const value = demandValue(parseJson(await readBody(req, MAX_BODY_BYTES)));
  try {
    await ctx.options.pushDemand(service, value);
  } catch (error) {
    if (error instanceof UnknownServiceError) throw new HttpError(404, error.message);
    if (error instanceof NotPushableError) throw new HttpError(409, error.message);
    throw error;
  }
  sendJson(res, 200, { service, value });
}

function authorize(req: IncomingMessage, ctx: Context): void {
  if (ctx.access === 'disabled') {
    throw new HttpError(
      403,
      'changes are disabled: the API listens on a non-loopback address, so a token must be configured (api.token)',
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

function serviceName(encoded: string): string {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'service name in the URL is not valid percent-encoding');
  }
  if (!SERVICE_NAME.test(name)) {
    throw new HttpError(400, `invalid service name ${JSON.stringify(name)}: expected ${SERVICE_NAME.source}`);
  }
  return name;
}

/** Reads at most `limit` bytes; a larger body is refused (413) without reading the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Connection: close, so the unread remainder of the body is not taken for the next request.
  const tooLarge = () =>
    new HttpError(413, `request body is larger than ${limit / 1024} KiB`, { Connection: 'close' });
  if (Number(req.headers['content-length']) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onClose = () => done(new Error('client closed the connection before sending the whole body'));
    req.on('data', onData).on('end', onEnd).on('error', done).on('close', onClose);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not valid JSON; send {"value": N}');
  }
}

function demandValue(body: unknown): number {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object like {"value": 42}');
  }
  const value: unknown = Object.hasOwn(body, 'value') ? (body as { value: unknown }).value : undefined;
  if (value === undefined) throw new HttpError(400, '"value" is missing; send {"value": N}');
  if (typeof value !== 'number') {
    throw new HttpError(400, `"value" must be a number, not ${value === null ? 'null' : typeof value}`);
  }
  // JSON.parse turns 1e999 into Infinity.
  if (!Number.isFinite(value) || value < 0 || value > MAX_DEMAND) {
    throw new HttpError(400, `"value" must be a number from 0 to ${MAX_DEMAND}, not ${value}`);
  }
  return value + 0; // -0 becomes 0
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // e.g. "null" from sandboxed frames and file:// pages
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A URL that reaches the server from this machine: the wildcard addresses become their loopback. */
function reachableUrl({ address, port }: AddressInfo): string {
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
