import { mulberry32 } from '../core/random.js';
/** A seeded pseudo-random generator: the same seed gives the same sequence on every machine. */
export const seeded = mulberry32;

/** How long a replica takes to start (or stop), in ms. */
export type Duration =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number };

export function sample(d: Duration, random: () => number): number {
  return d.kind === 'fixed' ? d.ms : d.minMs + (d.maxMs - d.minMs) * random();
}

/** The longest a draw can take: what the oracle, which knows start-up times, plans around. */
export function longest(d: Duration): number {
  return d.kind === 'fixed' ? d.ms : d.maxMs;
}

export function describeDuration(d: Duration): string {
  return d.kind === 'fixed' ? `${d.ms} ms` : `${d.minMs}–${d.maxMs} ms uniform`;
}

// Measured on real Docker 20.10 with 2 vCPUs (../shared/research/force12.md §7.2): create→start took a median
// of 120–205 ms with about 5 in parallel and up to 1.25 s with 18–19 in parallel; kill→destroy about 1.15 s,
// up to 1.8 s under load (a 1 s stop timeout, then SIGKILL).
export const DOCKER_START: Duration = { kind: 'uniform', minMs: 120, maxMs: 1250 };
export const DOCKER_STOP: Duration = { kind: 'uniform', minMs: 1050, maxMs: 1800 };
