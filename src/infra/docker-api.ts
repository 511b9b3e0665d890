// A thin Docker Engine API client: HTTP over the unix socket, or TCP with TLS, with Node's own http/https.
// Honours DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI does, and negotiates the
// API version with /_ping (the lower of the engine's and ours) before the first versioned call.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, TransientError } from '../core/errors.js';

/** Where the engine listens. */
export type DockerEndpoint =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      readonly tls?: {
        readonly ca?: Buffer;
        readonly cert?: Buffer;
        readonly key?: Buffer;
        readonly verify: boolean;
      };
    };

/** The newest API version this client speaks, and the oldest it can work with (Init, swarm). */
export const MAX_API_VERSION = '1.45';
export const MIN_API_VERSION = '1.25';
const DEFAULT_SOCKET = '/var/run/docker.sock';
const DEFAULT_TIMEOUT_MS = 30_000;

/** The engine answered with an error status. */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** No answer at all: the engine is down, restarting, or the socket is wrong. Retried with backoff. */
export class DockerUnreachableError extends TransientError {}

/**
 * The endpoint from `host` (a setting that overrides the environment) or DOCKER_HOST: `unix:///path`,
 * `tcp://host:port` (TLS when DOCKER_TLS_VERIFY is set, verified against DOCKER_CERT_PATH's ca.pem, or
 * when DOCKER_CERT_PATH alone is set, unverified, as the docker CLI's --tls), or nothing for the local socket.
 */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env, host?: string): DockerEndpoint {
  const value = host ?? env.DOCKER_HOST ?? '';
  if (value === '') return { kind: 'unix', socketPath: DEFAULT_SOCKET };
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`DOCKER_HOST ${value}: needs an absolute socket path`);
    return { kind: 'unix', socketPath };
  }
  const m = /^(?:tcp|https?):\/\/\[?([^\]/]*?)\]?(?::(\d+))?\/?$/.exec(value);
  if (!m?.[1]) {
    throw new Error(`DOCKER_HOST ${value}: expected unix:///path/to/docker.sock or tcp://host:port`);
  }
  const verify = (env.DOCKER_TLS_VERIFY ?? '') !== '';
  const certPath = env.DOCKER_CERT_PATH || (verify ? join(homedir(), '.docker') : undefined);
  const useTls = verify || certPath !== undefined || value.startsWith('https://');
  const port = m[2] ? Number(m[2]) : useTls ? 2376 : 2375;
  if (!useTls) return { kind: 'tcp', host: m[1], port };
  const read = (name: string): Buffer | undefined => {
    if (!certPath) return undefined;
    try {
      return readFileSync(join(certPath, name));
    } catch (error) {
      // Without a client certificate the engine refuses us anyway: say which file is missing.
      throw new Error(`DOCKER_CERT_PATH: cannot read ${join(certPath, name)}: ${errorMessage(error)}`);
    }
  };
  const tls = {
    ca: verify ? read('ca.pem') : undefined,
    cert: read('cert.pem'),
    key: read('key.pem'),
    verify,
  };
  return { kind: 'tcp', host: m[1], port, tls: dropUndefined(tls) };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function describeEndpoint(e: DockerEndpoint): string {
  return e.kind === 'unix' ? `unix://${e.socketPath}` : `tcp://${e.host}:${e.port}${e.tls ? ' (TLS)' : ''}`;
}

/** Compares dotted versions numerically: "1.9" < "1.41". */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Whole-request timeout; streams have none unless given. */
  readonly timeoutMs?: number;
}

export interface DockerResponse<T> {
  readonly status: number;
  readonly body: T;
}

/** Splits a byte stream into JSON values, one per line (events, pull progress). */
export class JsonLines {
  private rest = '';
  constructor(private readonly onValue: (value: unknown) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  end(): void {
    this.line(this.rest);
    this.rest = '';
  }

  private line(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    this.onValue(JSON.parse(trimmed));
  }
}

export class DockerApi {
  readonly endpoint: DockerEndpoint;
  private readonly agent: http.Agent;
  private version: Promise<string> | undefined;

  static fromEnv(env: NodeJS.ProcessEnv = process.env, host?: string): DockerApi {
    return new DockerApi(dockerEndpoint(env, host));
  }

  constructor(endpoint: DockerEndpoint, options: { maxSockets?: number } = {}) {
    this.endpoint = endpoint;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
    this.agent =
      endpoint.kind === 'tcp' && endpoint.tls
        ? new https.Agent({
            ...agentOptions,
            ...(endpoint.tls.ca ? { ca: endpoint.tls.ca } : {}),
            ...(endpoint.tls.cert ? { cert: endpoint.tls.cert } : {}),
            ...(endpoint.tls.key ? { key: endpoint.tls.key } : {}),
            rejectUnauthorized: endpoint.tls.verify,
          })
        : new http.Agent(agentOptions);
  }

  get address(): string {
    return describeEndpoint(this.endpoint);
  }

  /** The API version in use: negotiated once with /_ping; a failed negotiation is tried again next time. */
  apiVersion(signal?: AbortSignal): Promise<string> {
    this.version ??= this.negotiate(signal).catch((error: unknown) => {
      this.version = undefined;
      throw error;
    });
    return this.version;
  }

  private async negotiate(signal?: AbortSignal): Promise<string> {
    const { headers } = await this.raw('GET', '/_ping', { ...(signal ? { signal } : {}), timeoutMs: 10_000 });
    const server = headers['api-version'];
    if (typeof server !== 'string') return MIN_API_VERSION; // very old engines: the oldest we can use
    if (compareVersions(server, MIN_API_VERSION) < 0) {
      throw new Error(
        `docker engine at ${this.address} speaks API ${server}; microscaler needs ${MIN_API_VERSION} or later`,
      );
    }
    return compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
  }

  /** A versioned JSON call. Status 400 and above throws a DockerApiError with the engine's message. */
  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<DockerResponse<T>> {
    const version = await this.apiVersion(options.signal);
    const { status, text } = await this.raw(method, `/v${version}${path}`, {
      ...options,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    if (status >= 400) throw apiError(status, method, path, text);
    return { status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  /**
   * A versioned call whose answer is a stream of JSON lines (events, pull progress): calls onValue for each,
   * resolves when the engine ends the stream. `onOpen` runs once the engine has answered with a 2xx status.
   */
  async stream(
    method: string,
    path: string,
    onValue: (value: unknown) => void,
    options: RequestOptions & { onOpen?: () => void } = {},
  ): Promise<void> {
    const version = await this.apiVersion(options.signal);
    const full = `/v${version}${path}${queryString(options.query)}`;
    await new Promise<void>((resolve, reject) => {
      const req = this.send(method, full, options, (res) => {
        res.setEncoding('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          let text = '';
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => reject(apiError(status, method, path, text)));
          return;
        }
        options.onOpen?.();
        const lines = new JsonLines(onValue);
        res.on('data', (d: string) => {
          try {
            lines.push(d);
          } catch (error) {
            req.destroy(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('end', () => {
          try {
            lines.end();
            resolve();
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', (error) => reject(this.failure(error, method, path)));
        // The engine closing the connection mid-stream (dockerd stopping) ends with 'aborted' on older Nodes.
        res.on('aborted', () => reject(new DockerUnreachableError(`${this.address}: connection closed`)));
      });
      req.on('error', (error) => reject(this.failure(error, method, path)));
      req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One HTTP exchange, body read whole. */
  private raw(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
    const full = `${path}${queryString(options.query)}`;
    return new Promise((resolve, reject) => {
      const req = this.send(method, full, options, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        res.on('error', (error) => reject(this.failure(error, method, path)));
      });
      req.on('error', (error) => reject(this.failure(error, method, path)));
      req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
    });
  }

  private send(
    method: string,
    path: string,
    options: RequestOptions,
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest {
    const e = this.endpoint;
    const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined];
    const present = signals.filter((s): s is AbortSignal => s !== undefined);
    const signal = present.length > 1 ? AbortSignal.any(present) : present[0];
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const common = { method, path, headers, agent: this.agent, ...(signal ? { signal } : {}) };
    if (e.kind === 'unix') return http.request({ ...common, socketPath: e.socketPath }, onResponse);
    if (e.tls) return https.request({ ...common, host: e.host, port: e.port }, onResponse);
    return http.request({ ...common, host: e.host, port: e.port }, onResponse);
  }

  private failure(error: Error, method: string, path: string): Error {
    if (error.name === 'AbortError') {
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof Error && cause.name === 'TimeoutError') {
        return new DockerUnreachableError(`${method} ${path}: no answer from ${this.address} in time`);
      }
      return error;
    }
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ECONNREFUSED'
        ? `${errorMessage(error)}; is dockerd running?`
        : code === 'EACCES'
          ? `${errorMessage(error)}; is this user allowed to use the docker socket?`
          : errorMessage(error);
    return new DockerUnreachableError(`cannot reach the docker engine at ${this.address}: ${why}`);
  }
}

function apiError(status: number, method: string, path: string, text: string): DockerApiError {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  return new DockerApiError(status, method, path, `${method} ${path}: ${status} ${message}`);
}

export function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

/** `filters` as the engine wants it: a JSON map of lists. */
export function filters(f: Readonly<Record<string, readonly string[]>>): string {
  return JSON.stringify(f);
}
