// What the route handlers share: the server's options, the controller's surface, the write guard's settings.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControllerMetrics, ServiceChange, ServiceStatus } from '../controller/index.js';
import type { Logger } from '../core/ports.js';
import type { Snapshot } from '../core/types.js';
import type { EventFeed, EventStream, EventStreamOptions } from './event-stream.js';
import { HttpError } from './http.js';
import type { StaticFile } from './static-files.js';

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

/** How writes are guarded: open (loopback, no token), token (required), disabled (no token, not loopback). */
export type WriteAccess = 'open' | 'token' | 'disabled';

export interface Context {
  readonly options: ApiServerOptions;
  readonly logger: Logger;
  readonly access: WriteAccess;
  readonly loopback: boolean;
  readonly tokenDigest: Buffer | undefined;
  readonly stream: EventStream | undefined;
  readonly files: ReadonlyMap<string, StaticFile>;
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  params: string[],
) => void | Promise<void>;

export interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

export function requireController(ctx: Context): ControllerAccess {
  if (!ctx.options.controller) throw new HttpError(404, 'this server has no controller attached');
  return ctx.options.controller;
}
