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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import {
  type ApiServerOptions,
  type Context,
  type Route,
  requireController,
  type WriteAccess,
} from './context.js';
import { UnknownServiceError } from './errors.js';
import { EventStream, TooManyStreamsError } from './event-stream.js';
import { HttpError, sendJson } from './http.js';
import { isLoopback, parseListen } from './listen-address.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './prometheus.js';
import { getService, patchService, pauseOrResume, postDemand } from './service-routes.js';
import { loadStaticFiles, type StaticFile } from './static-files.js';
import { digest } from './write-guard.js';

export type { ApiServerOptions, ControllerAccess } from './context.js';
export { MAX_BODY_BYTES, MAX_DEMAND } from './service-routes.js';

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

/** The address the server is bound to, as a URL. */
function boundUrl({ address, port }: AddressInfo): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** A URL that reaches the server from this machine: the wildcard addresses become their loopback. */
function reachableUrl({ address, port }: AddressInfo): string {
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
