// The small interfaces adapters implement. Everything outside core/ depends on these, not on each other.
import type { Capacity, CapacityAsk, ClusterResources, Observed, RunSpec, SourceResult } from './types.js';

/** A demand signal. read() never throws: a failure is a result with an error. */
export interface Source {
  read(signal: AbortSignal): Promise<SourceResult>;
  close(): Promise<void>;
}

/** What a scheduler needs to know to run replicas of one service. */
export interface ServiceRun {
  readonly name: string;
  readonly run: RunSpec;
}

/**
 * Starts and stops replicas. scale() is idempotent and returns once the back-end has accepted the change
 * (new replicas counted as starting, surplus ones as stopping), not when every replica has finished.
 * It may be called for several services at once, but for one service only after its previous call settled.
 */
export interface Scheduler {
  observe(signal: AbortSignal): Promise<ReadonlyMap<string, Observed>>;
  /**
   * Converge to `replicas` active (running + starting) replicas: cold-start what is missing, stop the
   * surplus. On a back-end that freezes, frozen and warming replicas are left as they are (a process
   * back-end that drains takes them too when scaling to zero).
   */
  scale(service: string, replicas: number, reason: string): Promise<void>;
  /**
   * What the machines this back-end places replicas on offer now (issue 15, `capacity: { from: scheduler }`),
   * counting only nodes that match `nodes` (labels); absent where the back-end cannot tell (marathon, ecs).
   */
  resources?(signal: AbortSignal, nodes?: Readonly<Record<string, string>>): Promise<ClusterResources>;
  /** Calls onChange(service) whenever a replica of that service changes state; returns an unsubscribe. */
  watch?(onChange: (service: string) => void): () => void;
  /**
   * An opaque version of the object behind a service (its workload, job, app) as last observed, where the
   * back-end has one: when it changes, a call that failed with a TerminalError is tried again.
   */
  revision?(service: string): string | undefined;
  /**
   * From now on, stop replicas without their grace period (SIGKILL, docker kill), those already stopping
   * included: the user asked twice to stop (a second Ctrl-C during the drain on exit). Does not wait.
   */
  hurry?(): void;
  /**
   * The instance is about to stop every replica before it exits (drain): from now on nothing is left
   * frozen or killed without its grace; a frozen replica is continued before it is asked to stop.
   */
  beginDrain?(): void;
  close(): Promise<void>;
}

/** A back-end that can freeze replicas (docker, process): warm pools and `preempt: freeze` need one. */
export interface FreezingScheduler extends Scheduler {
  /**
   * Converge to `pool.replicas` active (running + starting) replicas and `pool.frozen` frozen ones:
   * - more active: thaw frozen replicas first (those beyond the frozen target first, then down to 0 frozen if needed),
   *   cold-start only what is still missing, all in parallel;
   * - fewer active: freeze surplus replicas while frozen < target, stop the rest;
   * - more frozen than target (after the above): remove frozen replicas WITHOUT thawing them (SIGKILL / docker rm -f of a
   *   paused container): they count as frozen (memory only) until gone;
   * - fewer frozen than target and no surplus to freeze: start new replicas (reported as `warming`) and freeze each once it
   *   runs (refill).
   * Resolves once the back-end accepted the change (a freeze/thaw is fast: resolve after it is done).
   */
  scaleWithPool(service: string, pool: ReplicaPool, reason: string): Promise<void>;
}

/** What a scale call on a back-end that freezes asks for: active replicas and frozen ones. */
export interface ReplicaPool {
  readonly replicas: number;
  readonly frozen: number;
}

/** Whether the back-end can freeze replicas; config rejects `warm` and `preempt: freeze` on one that cannot. */
export function canFreeze(s: Scheduler): s is FreezingScheduler {
  return typeof (s as Partial<FreezingScheduler>).scaleWithPool === 'function';
}

/**
 * Where a live capacity comes from (issue 15: `capacity: { from: scheduler }` or `{ source: ... }`): each
 * read gives the capacity as it is now, with what changed for people ("node n3 not ready"), or throws.
 * The controller reads it every tick and decides, through its guard, which reading is taken.
 */
export interface CapacitySource {
  read(signal: AbortSignal): Promise<{
    readonly capacity: Capacity;
    readonly why?: string;
    /** The nodes it counts, where it counts nodes: one node's size is then capacity / nodes. */
    readonly nodes?: number;
  }>;
  close(): Promise<void>;
}

/** Where requests for machines go (issue 15, `capacity.autoscale`): a webhook, an AWS ASG, a headroom Deployment. */
export interface AutoscaleTarget {
  /** Resolves once the target took the request; throws (TransientError when asking again may help) otherwise. */
  ask(instance: string, request: CapacityAsk, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  /** Milliseconds for durations: must never jump (src/infra/system-clock.ts reads a monotonic clock). */
  now(): number;
  /** Wall-clock milliseconds for timestamps people read (may jump); now() where absent. */
  wall?(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}
