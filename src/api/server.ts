// The HTTP API of a running instance (DESIGN.md, Contracts: HTTP API), on node:http alone. docs/api.md
// describes every route.
//
// Routes: GET /healthz, GET /api/state, GET /api/events (SSE), GET /metrics (Prometheus text),
// POST /api/services/NAME/demand {"value": N}, GET and PATCH /api/services/NAME ({"min", "max", "priority"}),
// POST /api/services/NAME/pause and /resume, and the dashboard (GET /, and its files).
// Every response but the stream, the metrics and the dashboard is JSON (errors are {"error": "..."}) with
// Cache-Control: no-store.
//
// Decisions where the design is silent:
// - pushDemand refuses by throwing UnknownServiceError (→ 404) or NotPushableError (→ 409) from ./errors.js;
//   any other error is logged and answered 500 "internal error". It may return a promise.
// - The demand body must be a JSON object whose `value` is a finite number in [0, 1e12]; any other field is
//   a 400, and so is a field given twice in any body (JSON.parse would keep the last without a word).
//   Content-Type is not checked: curl's default (form-urlencoded) works as long as the body is JSON.
// - An HTTP/1.1 request without a Host header gets a JSON 400 (Node's own answer has an empty body).
// - A PATCH body may hold only min, max and priority (anything else is a 400, so a typo is never ignored);
//   the controller validates the result as the config is validated (ConfigError → 400, every problem).
// - Write access is decided from the listen address as given, before binding: loopback (127.0.0.0/8, ::1,
//   localhost) without a token is open; with a token configured the token is required even on loopback; on
//   any other address (including `:8080` = every interface, and hostnames) a token is required, and without
//   one every POST and PATCH is refused with 403. An empty token counts as none.
// - Because any Content-Type is accepted, a web page could POST here as a "simple" cross-origin request.
//   Writes carrying an Origin header that differs from Host are therefore refused (403), and on loopback so
//   are writes whose Host header is not a loopback name (DNS rebinding). GETs are not restricted.
// - GET routes also answer HEAD. Query strings are ignored. Unknown errors never leak their message.
// - Hostile clients: a request whose headers take over 10 s, or whose whole request (body included) takes
//   over 15 s, is answered 408 and its connection closed (slowloris); one Node cannot parse gets a JSON 400
//   (431 for headers over Node's 16 KiB) instead of Node's bare status line. Service names from the URL are
//   only matched against the configured names (404 when unknown), never used in a path or a command.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ControllerMetrics, ServiceChange, ServiceStatus } from '../controller/index.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { SERVICE_NAME } from '../core/names.js';
import type { Logger } from '../core/ports.js';
import type { Snapshot } from '../core/types.js';
import { NotPushableError, UnknownServiceError } from './errors.js';
import { type EventFeed, EventStream, type EventStreamOptions, TooManyStreamsError } from './event-stream.js';
import { HttpError, jsonObject, parseJson, readBody, sendJson } from './http.js';
import { isLoopback, parseListen } from './listen-address.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './prometheus.js';
import { loadStaticFiles, type StaticFile } from './static-files.js';

/** Largest request body read; bigger ones get 413 without being buffered. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest demand value accepted. */
export const MAX_DEMAND = 1e12;
const CHANGE_FIELDS = ['min', 'max', 'priority'] as const;

/** What the API needs of the controller beyond snapshots; the Controller class has all of it. */
export interface ControllerAccess {
  update(service: string, change: ServiceChange): ServiceStatus;
  pause(service: string): ServiceStatus;
  resume(service: string): ServiceStatus;
  metrics(): ControllerMetrics;
  readonly log: EventFeed;
}

export interface ApiServerOptions {
  /** `127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:9000`, `:8080` (every interface), or a port (on 127.0.0.1); 0 = ephemeral. */
  readonly listen: string | number;
  readonly snapshot: () => Snapshot;
  /** Sets a service's demand. Throws UnknownServiceError or NotPushableError to refuse. */
  readonly pushDemand: (service: string, value: number) => void | Promise<void>;
  /** Runtime changes, the event stream and the metrics' counters; without it those routes answer 404. */
  readonly controller?: ControllerAccess;
  /** A folder holding index.html and the files it loads, served at `/`; without it `/` answers 404. */
  readonly dashboardDir?: string;
  /** Tuning of GET /api/events (tests shorten the intervals). */
  readonly stream?: Omit<EventStreamOptions, 'feed' | 'snapshot'>;
  /** Bearer token for writes; required when listening on a non-loopback address. */
  readonly token?: string;
  /** How long a client may take to send its headers, and its whole request; tests shorten them. */
  readonly timeouts?: { readonly headersMs?: number; readonly requestMs?: number };
  readonly logger?: Logger;
}

/**
 * A request whose headers (or whole body) have not arrived by then is answered 408 and its connection
 * closed, so slow or stalled clients (slowloris) cannot hold connections open. A legitimate request is a
 * few hundred bytes; the event stream is a GET, complete once its headers are in, so it is not affected.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;

export interface ApiServer {
  /** Where a client on this machine reaches the server, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** What it listens on, as bound: `http://0.0.0.0:8080` for every interface (url is then the loopback). */
  readonly listening: string;
  /** Stops listening and ends open connections (keep-alive, event streams). Idempotent. */
  close(): Promise<void>;
}

/** How writes are guarded: open (loopback, no token), token (required), disabled (no token, not loopback). */
type WriteAccess = 'open' | 'token' | 'disabled';

interface Context {
  readonly options: ApiServerOptions;
  readonly logger: Logger;
  readonly access: WriteAccess;
  readonly loopback: boolean;
  readonly tokenDigest: Buffer | undefined;
  readonly stream: EventStream | undefined;
  readonly files: ReadonlyMap<string, StaticFile>;
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

const ROUTES: readonly Route[] = [
  { pattern: /^\/healthz$/, methods: { GET: (_req, res) => sendJson(res, 200, { ok: true }) } },
  {
    pattern: /^\/api\/state$/,
    methods: { GET: (_req, res, ctx) => sendJson(res, 200, ctx.options.snapshot()) },
  },
  { pattern: /^\/api\/events$/, methods: { GET: getEvents } },
  { pattern: /^\/metrics$/, methods: { GET: getMetrics } },
  { pattern: /^\/api\/services\/([^/]+)$/, methods: { GET: getService, PATCH: patchService } },
  { pattern: /^\/api\/services\/([^/]+)\/demand$/, methods: { POST: postDemand } },
  { pattern: /^\/api\/services\/([^/]+)\/pause$/, methods: { POST: (...a) => pauseOrResume('pause', ...a) } },
  {
    pattern: /^\/api\/services\/([^/]+)\/resume$/,
    methods: { POST: (...a) => pauseOrResume('resume', ...a) },
  },
  // Last: the dashboard's files, matched against what was loaded, never against the disk.
  { pattern: /^\/(?:[a-z0-9][a-z0-9.-]*)?$/, methods: { GET: getFile } },
];

const quiet: Logger = { log() {} };

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const logger = options.logger ?? quiet;
  const { host, port } = parseListen(options.listen);
  const loopback = host !== undefined && isLoopback(host);
  const token = options.token || undefined;
  const access: WriteAccess = token ? 'token' : loopback ? 'open' : 'disabled';
  const files = options.dashboardDir ? loadStaticFiles(options.dashboardDir) : new Map<string, StaticFile>();
  const controller = options.controller;
  const stream = controller
    ? new EventStream({ ...options.stream, feed: controller.log, snapshot: options.snapshot })
    : undefined;
  const ctx: Context = {
    options,
    logger,
    access,
    loopback,
    tokenDigest: token ? digest(token) : undefined,
    stream,
    files,
  };

  const headersTimeout = options.timeouts?.headersMs ?? HEADERS_TIMEOUT_MS;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, options.timeouts?.requestMs ?? REQUEST_TIMEOUT_MS),
      // How often Node looks for requests over those timeouts (its default, 30 s, would add up to 30 s).
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
      // Checked in handle() instead, so that the 400 says what is wrong, in JSON.
      requireHostHeader: false,
    },
    (req, res) => void handle(req, res, ctx),
  );
  server.on('clientError', answerClientError);
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
    logger.log('warn', 'api listens on a non-loopback address without a token: writes answer 403', {
      listen: String(options.listen),
      fix: 'configure api.token or MICROSCALER_TOKEN',
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    listening: boundUrl(server.address() as AddressInfo),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        stream?.close();
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
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      throw new HttpError(400, 'the Host header is missing (HTTP/1.1 requires it)', { Connection: 'close' });
    }
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
    } else if (error instanceof UnknownServiceError) {
      sendJson(res, 404, { error: error.message });
    } else if (error instanceof ConfigError) {
      sendJson(res, 400, { error: error.problems.join('; ') });
    } else {
      ctx.logger.log('error', 'api request failed', { method: req.method, path, error: errorMessage(error) });
      sendJson(res, 500, { error: 'internal error' });
    }
  }
}

/** Why Node's parser refused a request, in words; anything else is "malformed HTTP request". */
const PARSE_ERRORS: Readonly<Record<string, string>> = {
  HPE_INVALID_METHOD: 'unknown HTTP method',
  HPE_INVALID_URL: 'invalid request target (URL)',
  HPE_INVALID_HEADER_TOKEN: 'invalid header',
  HPE_INVALID_CONTENT_LENGTH: 'invalid Content-Length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'both Content-Length and Transfer-Encoding',
  HPE_INVALID_TRANSFER_ENCODING: 'invalid Transfer-Encoding',
  HPE_INVALID_CHUNK_SIZE: 'invalid chunk size',
  HPE_INVALID_VERSION: 'invalid HTTP version',
};

/**
 * Requests Node refuses before any route sees them (unparsable, headers too large, too slow) get a JSON
 * error like every other, instead of Node's bare status line, and their connection is closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // The socket may already be answering an earlier request on it: a second status line would corrupt it.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'the request did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request headers are too large']
        : [
            400,
            'Bad Request',
            `malformed HTTP request: ${PARSE_ERRORS[error.code ?? ''] ?? error.code ?? 'unreadable'}`,
          ];
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Cache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // A client that never reads nor closes does not keep the connection: it goes a second later at most.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function requireController(ctx: Context): ControllerAccess {
  if (!ctx.options.controller) throw new HttpError(404, 'this server has no controller attached');
  return ctx.options.controller;
}

function getEvents(req: IncomingMessage, res: ServerResponse, ctx: Context) {
  requireController(ctx);
  try {
    ctx.stream?.open(req, res);
  } catch (error) {
    if (error instanceof TooManyStreamsError) {
      throw new HttpError(503, 'too many event streams are open; try again later', { 'Retry-After': '5' });
    }
    throw error;
  }
}

function getMetrics(_req: IncomingMessage, res: ServerResponse, ctx: Context) {
  const text = renderMetrics(ctx.options.snapshot(), ctx.options.controller?.metrics());
  res.writeHead(200, {
    'Content-Type': PROMETHEUS_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function getFile(req: IncomingMessage, res: ServerResponse, ctx: Context) {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const file = ctx.files.get(path);
  if (!file) {
    throw new HttpError(404, path === '/' ? 'this server has no dashboard' : `not found: ${path}`);
  }
  const headers: Record<string, string> = {
    'Content-Type': file.type,
    ETag: file.etag,
    // Revalidated on every load: a cheap 304, and never a stale page after an upgrade.
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  };
  if (path === '/') {
    // Everything the page uses comes from this server: the browser refuses anything else.
    headers['Content-Security-Policy'] =
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    headers['Referrer-Policy'] = 'no-referrer';
  }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(file.body.length) });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

function getService(_req: IncomingMessage, res: ServerResponse, ctx: Context, params: string[]) {
  const name = serviceName(params[0] ?? '');
  const service = ctx.options.snapshot().services.find((s) => s.name === name);
  if (!service) throw new UnknownServiceError(name);
  sendJson(res, 200, service);
}

async function patchService(req: IncomingMessage, res: ServerResponse, ctx: Context, params: string[]) {
  authorize(req, ctx);
  const controller = requireController(ctx);
  const name = serviceName(params[0] ?? '');
  const example = '{"min": 1, "max": 10, "priority": 2}';
  const body = jsonObject(parseJson(await readBody(req, MAX_BODY_BYTES), example), example);
  const unknown = Object.keys(body).filter((k) => !(CHANGE_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      `unknown field ${JSON.stringify(unknown[0])}: only min, max and priority can change`,
    );
  }
  const change: { -readonly [K in keyof ServiceChange]: number } = {};
  for (const field of CHANGE_FIELDS) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'number') {
      throw new HttpError(
        400,
        `"${field}" must be an integer, not ${value === null ? 'null' : typeof value}`,
      );
    }
    change[field] = value;
  }
  if (Object.keys(change).length === 0) throw new HttpError(400, `nothing to change; send ${example}`);
  sendJson(res, 200, controller.update(name, change));
}

async function pauseOrResume(
  action: 'pause' | 'resume',
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  params: string[],
) {
  authorize(req, ctx);
  const controller = requireController(ctx);
  const name = serviceName(params[0] ?? '');
  await readBody(req, MAX_BODY_BYTES); // no body is needed; one is read (bounded) and ignored
  sendJson(res, 200, action === 'pause' ? controller.pause(name) : controller.resume(name));
}

async function postDemand(req: IncomingMessage, res: ServerResponse, ctx: Context, params: string[]) {
  authorize(req, ctx);
  const service = serviceName(params[0] ?? '');
  const value = demandValue(parseJson(await readBody(req, MAX_BODY_BYTES), '{"value": N}'));
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

function demandValue(parsed: unknown): number {
  const body = jsonObject(parsed, '{"value": 42}');
  const unknown = Object.keys(body).find((k) => k !== 'value');
  if (unknown !== undefined) {
    throw new HttpError(400, `unknown field ${JSON.stringify(unknown)}: send only {"value": N}`);
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

/** The address the server is bound to, as a URL. */
function boundUrl({ address, port }: AddressInfo): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** A URL that reaches the server from this machine: the wildcard addresses become their loopback. */
function reachableUrl({ address, port }: AddressInfo): string {
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
