// What the docker back-end's parts share: the replica table (by name and by id), watchers, and whether the engine is reachable.
import { errorMessage } from '../../core/errors.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { RunSpec } from '../../core/types.js';
import type { DockerApi } from '../../infra/docker-api.js';
import type { Replica } from './replica.js';

/** The fields a new record is made with; the rest start empty. */
export type NewReplica = Pick<Replica, 'name' | 'id' | 'service' | 'state' | 'createdAt' | 'adopted'>;

/** Since when, and why, the engine cannot be reached (or our view of it is not current). */
export interface Down {
  readonly since: number;
  error: string;
}

export class DockerState {
  readonly runs: ReadonlyMap<string, RunSpec>;
  private readonly replicas = new Map<string, Replica>();
  private readonly ids = new Map<string, Replica>();
  private readonly subscribers = new Set<(service: string) => void>();
  private readonly stopping = new AbortController();
  private seq = 0;
  private isClosed = false;
  private isDown: Down | undefined = { since: 0, error: 'not connected yet' };
  private synced: (() => void) | undefined;

  constructor(
    readonly ctx: SchedulerContext,
    readonly api: DockerApi,
  ) {
    this.runs = new Map(ctx.services.map((s) => [s.name, s.run]));
  }

  /** Resolves at the next setUp() (a listing reconciled with what we track), or at close(). */
  nextSync(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.synced = resolve;
    });
  }

  /** Every tracked replica, oldest record first: a live view (spread it to change the table meanwhile). */
  each(): IterableIterator<Replica> {
    return this.replicas.values();
  }

  byName(name: string): Replica | undefined {
    return this.replicas.get(name);
  }

  byId(id: string): Replica | undefined {
    return this.ids.get(id);
  }

  /** Whether this record is still the one tracked under its name (not dropped, not replaced). */
  tracks(r: Replica): boolean {
    return this.replicas.get(r.name) === r;
  }

  track(fields: NewReplica): Replica {
    const r: Replica = {
      ...fields,
      seq: ++this.seq,
      startedAt: undefined,
      knownAt: this.ctx.clock.now(),
      busy: false,
      stopQueued: false,
      paused: false,
      freezeOps: 0,
      frozenAt: 0,
      work: Promise.resolve(),
    };
    this.replicas.set(r.name, r);
    if (r.id) this.ids.set(r.id, r);
    return r;
  }

  setId(r: Replica, id: string): void {
    r.id = id;
    r.knownAt = this.ctx.clock.now();
    this.ids.set(id, r);
  }

  drop(r: Replica): void {
    if (this.replicas.get(r.name) !== r) return;
    this.replicas.delete(r.name);
    if (r.id) this.ids.delete(r.id);
    this.notify(r.service);
  }

  watch(onChange: (service: string) => void): () => void {
    const subscriber = (service: string) => onChange(service);
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  notify(service: string): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber(service);
      } catch (error) {
        this.ctx.logger.log('error', `watch subscriber failed: ${errorMessage(error)}`, { service });
      }
    }
  }

  notifyAll(): void {
    for (const s of this.ctx.services) this.notify(s.name);
  }

  /** Set while the engine is unreachable or our view of it is not current; undefined when connected. */
  get down(): Readonly<Down> | undefined {
    return this.isDown;
  }

  setDown(error: string): void {
    if (this.isClosed) return;
    if (!this.isDown) {
      this.isDown = { since: this.ctx.clock.now(), error };
      this.ctx.logger.log('warn', `docker engine at ${this.api.address} unreachable: ${error}`);
      this.notifyAll();
    } else {
      this.isDown.error = error;
    }
  }

  setUp(): void {
    const was = this.isDown;
    this.isDown = undefined;
    this.synced?.();
    this.synced = undefined;
    if (was && was.since !== 0) {
      this.ctx.logger.log('info', `docker engine at ${this.api.address} reachable again`);
    }
    this.notifyAll();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Aborted by close(): ends the event stream, listings and waits in flight. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Marks the back-end closed: no more watchers, no more state changes reported as down. */
  close(): void {
    this.isClosed = true;
    this.subscribers.clear();
    this.synced?.();
    this.stopping.abort();
  }
}
