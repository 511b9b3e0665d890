// GET /api/events: server-sent events. A client gets the current state and the recent history first, then
// every new event as it happens, the state every stateIntervalMs, and a comment line every heartbeatMs so
// that proxies keep the connection open. Writes never wait: a client whose unsent data grows past
// maxBufferedBytes is disconnected (its browser reconnects and catches up from the history).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveEvent } from '../controller/index.js';
import type { Snapshot } from '../core/types.js';

export interface EventFeed {
  recent(limit?: number, afterId?: number): LiveEvent[];
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

export interface EventStreamOptions {
  readonly feed: EventFeed;
  readonly snapshot: () => Snapshot;
  /** Events replayed to a new client. */
  readonly history?: number;
  readonly heartbeatMs?: number;
  readonly stateIntervalMs?: number;
  readonly maxClients?: number;
  readonly maxBufferedBytes?: number;
}

export const SSE_DEFAULTS = {
  history: 100,
  heartbeatMs: 15_000,
  stateIntervalMs: 500,
  maxClients: 64,
  maxBufferedBytes: 1024 * 1024,
};

/** Thrown by open() when maxClients streams are open already. */
export class TooManyStreamsError extends Error {}

export class EventStream {
  private readonly opts: Required<EventStreamOptions>;
  /** Ids are `<boot>.<n>`: a client reconnecting to a restarted server sends an id of another boot. */
  private readonly boot = randomBytes(4).toString('hex');
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** A state message is due soon after an event (the plan changed), coalesced. */
  private stateSoon: NodeJS.Timeout | undefined;

  constructor(options: EventStreamOptions) {
    this.opts = { ...SSE_DEFAULTS, ...options };
  }

  get size(): number {
    return this.clients.size;
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.opts.maxClients) throw new TooManyStreamsError();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no', // nginx: do not buffer the stream
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    const after = this.resumeFrom(req.headers['last-event-id']);
    const history = this.opts.feed.recent(this.opts.history, after);
    // retry: reconnect after 1 s (browsers default to about 3 s).
    let text = `retry: 1000\n\n${state(this.opts.snapshot())}`;
    for (const e of history) text += this.format(e);
    res.write(text);
    this.clients.add(res);
    res.on('close', () => this.remove(res));
    if (this.clients.size === 1) this.startFeeding();
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stopFeeding();
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stopFeeding();
  }

  /** The event id a reconnecting client saw last, when it is of this boot; 0 (send the history) otherwise. */
  private resumeFrom(header: string | string[] | undefined): number {
    const m = typeof header === 'string' ? /^([0-9a-f]+)\.(\d+)$/.exec(header) : null;
    return m && m[1] === this.boot ? Number(m[2]) : 0;
  }

  private format(e: LiveEvent): string {
    return `id: ${this.boot}.${e.id}\nevent: ${sseEventName(e.kind)}\ndata: ${JSON.stringify(e)}\n\n`;
  }

  private startFeeding(): void {
    this.unsubscribe = this.opts.feed.subscribe((e) => {
      this.broadcast(this.format(e));
      this.stateSoon ??= setTimeout(() => {
        this.stateSoon = undefined;
        this.broadcastState();
      }, 50);
    });
    this.timers = [
      setInterval(() => this.broadcast(': heartbeat\n\n'), this.opts.heartbeatMs),
      setInterval(() => this.broadcastState(), this.opts.stateIntervalMs),
    ];
  }

  private stopFeeding(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.stateSoon);
    this.stateSoon = undefined;
  }

  private broadcastState(): void {
    if (this.clients.size === 0) return;
    let text: string;
    try {
      text = state(this.opts.snapshot());
    } catch {
      return; // the next interval tries again; a stream never dies of one bad snapshot
    }
    this.broadcast(text);
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      // A client that does not read falls behind: drop it rather than buffer without bound.
      if (res.writableLength > this.opts.maxBufferedBytes) {
        res.destroy();
        this.remove(res);
        continue;
      }
      res.write(text);
    }
  }
}

/**
 * The `event:` name of a kind on the wire. A browser's EventSource fires its own `error` event when the
 * connection fails, and an `event: error` message would reach the same listeners, so a failing source or
 * back-end goes out as `failure`; the data's `kind` stays `error`, as in /api/state and the CLI.
 */
export function sseEventName(kind: string): string {
  return kind === 'error' ? 'failure' : kind;
}

function state(snapshot: Snapshot): string {
  return `event: state\ndata: ${JSON.stringify(snapshot)}\n\n`;
}
