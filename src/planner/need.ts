import type { Reading, Rule } from '../core/types.js';

// Guards ceil() against binary fractions: 0.3 / 0.1 is 2.9999999999999996, which must count as 3.
const EPS = 1e-9;
const ceil = (x: number) => Math.max(0, Math.ceil(x - EPS));

/**
 * Replicas the rule asks for given a reading, before min/max, stabilisation and capacity.
 * `remainder` asks for everything (Infinity): it takes what higher priorities leave.
 */
export function ruleNeed(rule: Rule, reading: Reading | undefined): number {
  switch (rule.type) {
    case 'fixed':
      return rule.replicas;
    case 'remainder':
      return Number.POSITIVE_INFINITY;
    case 'target': {
      const value = reading?.value ?? 0;
      if (value <= rule.activation) return 0;
      return Math.max(1, ceil(value / rule.perReplica));
    }
    case 'queue': {
      // Little's law: keep up with arrivals and drain the backlog within drainSeconds. Without an arrival
      // rate only the backlog counts: guessing the rate from the replicas that run would keep idle ones forever.
      const backlog = Math.max(0, reading?.value ?? 0);
      const rate = Math.max(0, reading?.rate ?? 0);
      return ceil((rate + backlog / rule.drainSeconds) / rule.perReplicaRate);
    }
  }
}

/** Why the rule asks for that many, in a few words. */
export function explainNeed(rule: Rule, reading: Reading | undefined, need: number): string {
  switch (rule.type) {
    case 'fixed':
      return `fixed at ${rule.replicas}`;
    case 'remainder':
      return 'remainder';
    case 'target': {
      const value = reading?.value ?? 0;
      if (need === 0) return `value ${fmt(value)} ≤ activation ${fmt(rule.activation)}`;
      return `value ${fmt(value)} / ${fmt(rule.perReplica)} per replica`;
    }
    case 'queue': {
      const rate = reading?.rate === undefined ? '' : `, arrivals ${fmt(reading.rate)}/s`;
      return `backlog ${fmt(reading?.value ?? 0)}${rate}, ${fmt(rule.perReplicaRate)}/s per replica, drain in ${fmt(rule.drainSeconds)}s`;
    }
  }
}

export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, '');
}
