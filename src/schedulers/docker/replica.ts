// One container as the docker back-end tracks it, the engine's shapes it reads, and where a replica counts in Observed.
import { randomBytes } from 'node:crypto';
import type { ReplicaState } from '../replica-counts.js';

export type ContainerState = ReplicaState;

export interface Replica {
  /** The container name, chosen before it exists: what links a create in flight to a listing. */
  readonly name: string;
  id: string | undefined;
  readonly service: string;
  state: ContainerState;
  readonly createdAt: number;
  readonly seq: number;
  readonly adopted: boolean;
  startedAt: number | undefined;
  /** When its id became known: a listing made before then is no evidence that it is gone. */
  knownAt: number;
  /** A create or start call is running on it. */
  busy: boolean;
  /** A stop-and-remove is queued or running. */
  stopQueued: boolean;
  /** Paused on the engine, as far as we know (a pause that has returned, an event, or a listing). */
  paused: boolean;
  /** Pause or unpause calls of ours in flight on it. */
  freezeOps: number;
  /** When our last pause or unpause on it returned: a listing made before then is no evidence. */
  frozenAt: number;
  /** The actions on this container, one after the other. */
  work: Promise<void>;
}

export interface ContainerInfo {
  readonly name: string;
  readonly id: string | undefined;
  readonly service: string;
  readonly state: ContainerState;
  readonly adopted: boolean;
  readonly paused: boolean;
}

export interface Failure {
  count: number;
  at: number;
  retryAt: number;
  error: string;
  /** The engine refused for good (401, 403, 404: asking again cannot help): the next scale-up is a TerminalError. */
  terminal?: boolean;
}

export interface ContainerSummary {
  readonly Id: string;
  readonly Names?: readonly string[];
  readonly State?: string;
  readonly Created?: number;
  readonly Labels?: Readonly<Record<string, string>>;
}

export interface EngineEvent {
  readonly Type?: string;
  readonly Action?: string;
  readonly id?: string;
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Readonly<Record<string, string>> };
}

/** Read through a call, so the compiler does not assume the state is what it was before an await. */
export function isStopping(r: Replica): boolean {
  return r.state === 'stopping';
}

export function isWarming(r: Replica): boolean {
  return r.state === 'warming';
}

export function isStarting(r: Replica): boolean {
  return r.state === 'starting';
}

/** Where a replica counts: a pause in flight still holds a cpu; a paused one being removed holds memory only. */
export function counted(r: Replica): ReplicaState {
  switch (r.state) {
    case 'frozen':
      return r.paused ? 'frozen' : 'running';
    case 'stopping':
      return r.paused ? 'frozen' : 'stopping';
    default:
      return r.state;
  }
}

/** `<instance>-<service>-<time><random>`: unique, sortable, and valid as a container name. */
export function containerName(instance: string, service: string): string {
  return `${instance}-${service}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
