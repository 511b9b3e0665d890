// The small interfaces adapters implement. Everything outside core/ depends on these, not on each other.
import type { Observed, RunSpec, SourceResult } from './types.js';

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
  scale(service: string, replicas: number, reason: string): Promise<void>;
  /** Calls onChange(service) whenever a replica of that service changes state; returns an unsubscribe. */
  watch?(onChange: (service: string) => void): () => void;
  close(): Promise<void>;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}
