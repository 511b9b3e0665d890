// A thin Kubernetes API client over Node's https: JSON in and out, bearer-token or client-certificate auth,
// CA verification, bounded timeouts. @kubernetes/client-node 2.x does not run on Node 20, and the few
// calls microscaler makes do not need it.
import { Agent, request as httpsRequest } from 'node:https';
import { TransientError } from '../core/errors.js';

/** Where the API server is and how to prove who we are. */
export interface KubeConnection {
  /** https://host:port */
  readonly server: string;
  /** PEM bundle to verify the server with; the system's CAs when absent. */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Only when the kubeconfig says insecure-skip-tls-verify: true. */
  readonly insecure?: boolean;
  /** The bearer token, read fresh for each request (service-account tokens rotate). */
  readonly token?: () => string | undefined;
  /** How the credentials were found, for error messages (never the secret itself). */
  readonly describe: string;
}

/** A status the API server answered with; message is the server's own (it never contains our token). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KubeRequest {
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** For PATCH: merge-patch by default. */
  readonly contentType?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const STREAM_IDLE_MS = 330_000;

export class KubeClient {
  private readonly agent: Agent;
  /** Watches hold their connection for minutes: their own agent, so they never starve short requests. */
  private readonly streamAgent: Agent;

  constructor(readonly connection: KubeConnection) {
    const tls = {
      ...(connection.ca ? { ca: connection.ca } : {}),
      ...(connection.cert ? { cert: connection.cert } : {}),
      ...(connection.key ? { key: connection.key } : {}),
      rejectUnauthorized: connection.insecure !== true,
    };
    this.agent = new Agent({ keepAlive: true, maxSockets: 16, ...tls });
    this.streamAgent = new Agent({ keepAlive: false, ...tls });
  }

  async request<T>(method: string, path: string, options: KubeRequest = {}): Promise<T> {
    const url = new URL(path, this.connection.server);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.connection.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] =
        options.contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const what = `${method} ${url.pathname}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('error', (error) => {
        if (timeout.aborted) {
          reject(new TransientError(`kubernetes: ${what} timed out after ${timeoutMs} ms`));
        } else if (options.signal?.aborted) {
          reject(error);
        } else {
          reject(
            new TransientError(
              `kubernetes: cannot reach the API server at ${this.connection.server}: ${error.message}`,
            ),
          );
        }
      });
      req.end(payload);
    });
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300) return body as T;
    throw this.failure(status, text, what);
  }

  private failure(status: number, text: string, what: string): KubeApiError {
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const st = (body ?? {}) as { reason?: string; message?: string };
    const serverSays = st.message ?? (text.slice(0, 200) || `HTTP ${status}`);
    if (status === 401) {
      return new KubeApiError(
        status,
        'Unauthorized',
        `kubernetes: the API server at ${this.connection.server} rejected our credentials (401 Unauthorized, ${this.connection.describe}); the token may have expired or the certificate is not trusted`,
      );
    }
    if (status === 403) {
      return new KubeApiError(
        status,
        'Forbidden',
        `kubernetes: forbidden (403, ${this.connection.describe}): ${serverSays}; the Role must allow this (see deploy/kubernetes/rbac.yaml)`,
      );
    }
    return new KubeApiError(status, st.reason ?? '', `kubernetes: ${what}: ${status} ${serverSays}`);
  }

  /**
   * A watch: GET with `watch=1`, calling onLine with each newline-delimited JSON event until the server
   * ends the stream (resolves) or signal aborts (resolves). A non-2xx answer throws as request() does.
   */
  async stream(
    path: string,
    query: Readonly<Record<string, string>>,
    onLine: (event: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const url = new URL(path, this.connection.server);
    for (const [k, v] of Object.entries({ ...query, watch: '1' })) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.connection.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const status = await new Promise<{ status: number; text: string } | undefined>((resolve, reject) => {
      const req = httpsRequest(url, { method: 'GET', headers, agent: this.streamAgent, signal }, (res) => {
        const code = res.statusCode ?? 0;
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          if (code < 200 || code >= 300) return;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) {
              try {
                onLine(JSON.parse(line));
              } catch {
                // A line that is not JSON is skipped; the next list corrects any miss.
              }
            }
            nl = buffered.indexOf('\n');
          }
        });
        res.on('end', () =>
          resolve(code >= 200 && code < 300 ? undefined : { status: code, text: buffered }),
        );
        res.on('error', (error) => (signal.aborted ? resolve(undefined) : reject(error)));
      });
      // The server ends a watch at timeoutSeconds; silence well past that means a dead connection.
      req.setTimeout(STREAM_IDLE_MS, () => req.destroy(new Error(`no data for ${STREAM_IDLE_MS / 1000} s`)));
      req.on('error', (error) =>
        signal.aborted
          ? resolve(undefined)
          : reject(new TransientError(`kubernetes: watch ${url.pathname}: ${error.message}`)),
      );
      req.end();
    });
    if (status) throw this.failure(status.status, status.text, `GET ${url.pathname} (watch)`);
  }

  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }
}
