// The process back-end's replica table: one entry per replica this instance started or adopted, who to tell
// when one changes, and what every part of the back-end shares (context, runs, modes, freeze notices).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { RunSpec } from '../../core/types.js';
import type { FreezeNotices } from '../freeze-notify.js';
import type { ReplicaState } from '../replica-counts.js';

/**
 * starting, running: active. warming: being started (or frozen) to join the warm pool, not yet stopped.
 * frozen: stopped with SIGSTOP. stopping: going away (a frozen one that is removed stays frozen till gone).
 */
export type { ReplicaState } from '../replica-counts.js';

/** One replica as list() reports it. */
export interface ReplicaInfo {
  readonly id: string;
  readonly service: string;
  readonly pid: number | undefined;
  readonly state: ReplicaState;
  readonly startedAt: number;
  /** True when a previous microscaler started it and this one adopted it. */
  readonly adopted: boolean;
}

export interface Replica {
  readonly id: string;
  readonly service: string;
  /** Undefined until spawned. */
  pid: number | undefined;
  /** Field 22 of /proc/<pid>/stat: tells this process apart from a later one with a reused pid. */
  startTime: number | undefined;
  readonly startedAt: number;
  /** Start order within this instance: breaks ties between replicas started in the same millisecond. */
  readonly seq: number;
  state: ReplicaState;
  /** Absent for adopted replicas (and before the spawn): liveness of adopted ones comes from /proc. */
  child: ChildProcess | undefined;
  /** Adopted from a record (started by another microscaler), not spawned by this one. */
  readonly adopted: boolean;
  /** What its record says it runs (kept for the rewrites that freezing makes). */
  readonly command: readonly string[];
  /** SIGSTOP sent and no SIGCONT since: stop() then kills it without a thaw. */
  frozen: boolean;
  /** A freeze under way (record, SIGSTOP, wait for 'T'); one at a time. */
  freezing?: Promise<void>;
  killTimer?: NodeJS.Timeout;
  /** Its leader exited while processes of its group live on: stopping until the group is empty. */
  leaderGone?: boolean;
  /** The record write; resolves to its error, if any (never rejects). Removal waits for it. */
  saved: Promise<Error | undefined>;
  readonly gone: Promise<void>;
  readonly markGone: () => void;
}

/** What a new replica is tracked with; the table adds its order, its record write and its end. */
export type NewReplica = Pick<
  Replica,
  'id' | 'service' | 'pid' | 'startTime' | 'startedAt' | 'state' | 'child' | 'adopted' | 'command' | 'frozen'
>;

/** Run-wide modes every part reads. */
export interface Modes {
  closed: boolean;
  /** Set by hurry(): every stop is a SIGKILL from then on. */
  hurried: boolean;
  /** Set by beginDrain(): every stop is a graceful one, frozen replicas continued first. */
  draining: boolean;
}

/** What the parts of the process back-end (stop, freeze, spawn, scan) share. */
export interface ProcessCore {
  readonly ctx: SchedulerContext;
  readonly runs: ReadonlyMap<string, RunSpec>;
  readonly table: ReplicaTable;
  readonly recordsDir: string;
  /** Replicas told of a freeze and in their grace (freeze-notify.ts). */
  readonly notices: FreezeNotices;
  readonly modes: Modes;
}

/** Sortable by start time (wall-clock ms), unique, and safe in a path. */
export function newId(startedAt: number): string {
  return `${startedAt.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The replicas this instance started or adopted, and the subscribers told when one changes. */
export class ReplicaTable {
  private readonly byId = new Map<string, Replica>();
  private readonly subscribers = new Set<(service: string) => void>();
  private readonly ctx: SchedulerContext;
  private seq = 0;

  constructor(ctx: SchedulerContext) {
    this.ctx = ctx;
  }

  /** Whether `r` is still the replica tracked under its id (not removed since). */
  holds(r: Replica): boolean {
    return this.byId.get(r.id) === r;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<Replica> {
    return this.byId.values();
  }

  track(fields: NewReplica): Replica {
    let markGone = () => {};
    const gone = new Promise<void>((res) => {
      markGone = res;
    });
    const r: Replica = { ...fields, seq: ++this.seq, saved: Promise.resolve(undefined), gone, markGone };
    this.byId.set(r.id, r);
    return r;
  }

  /** Forgets `r` (it is gone); false when it was not tracked. */
  forget(r: Replica): boolean {
    if (!this.holds(r)) return false;
    this.byId.delete(r.id);
    return true;
  }

  watch(onChange: (service: string) => void): () => void {
    // A wrapper, so that subscribing the same function twice gives two independent subscriptions.
    const subscriber = (service: string) => onChange(service);
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  unwatchAll(): void {
    this.subscribers.clear();
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
}

/** Read through a call, so the compiler does not assume the state is what it was before an await. */
export function isStopping(r: Replica): boolean {
  return r.state === 'stopping';
}

export function isWarming(r: Replica): boolean {
  return r.state === 'warming';
}

/** Resolves once every replica is gone, or after `ms` (they still count until then). */
export async function waitGone(replicas: readonly Replica[], ms: number, clock: Clock): Promise<void> {
  const done = new AbortController();
  await Promise.race([Promise.all(replicas.map((r) => r.gone)), clock.sleep(ms, done.signal)]);
  done.abort(); // ends the sleep's timer
}
