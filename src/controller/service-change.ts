import { ConfigError } from '../core/errors.js';
import type { ServicePolicy } from '../core/types.js';

/** What may change in a running service, as the config says it (min, max, priority). */
export interface ServiceChange {
  readonly min?: number;
  readonly max?: number;
  readonly priority?: number;
}

/**
 * The policy with the change applied, validated as the config is (integers, priority ≥ 1, 0 ≤ min ≤ max,
 * a fixed rule's replicas within min..max). Throws ConfigError with one `field: problem` line per problem.
 */
export function applyChange(policy: ServicePolicy, change: ServiceChange): ServicePolicy {
  const problems: string[] = [];
  const check = (field: keyof ServiceChange, least: number) => {
    const value = change[field];
    if (value === undefined) return;
    if (!Number.isSafeInteger(value) || value < least) {
      problems.push(
        `${field}: expected an integer ≥ ${least}, got ${JSON.stringify(value) ?? String(value)}`,
      );
    }
  };
  check('priority', 1);
  check('min', 0);
  check('max', 0);
  if (problems.length > 0) throw new ConfigError(problems);
  const next: ServicePolicy = {
    ...policy,
    min: change.min ?? policy.min,
    max: change.max ?? policy.max,
    priority: change.priority ?? policy.priority,
  };
  if (next.min > next.max) {
    problems.push(
      `${change.min !== undefined ? 'min' : 'max'}: min ${next.min} must not exceed max ${next.max}`,
    );
  }
  if (next.rule.type === 'fixed' && (next.rule.replicas < next.min || next.rule.replicas > next.max)) {
    problems.push(
      `min, max: the fixed rule of ${policy.name} asks for ${next.rule.replicas}, outside ${next.min}..${next.max}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return next;
}

/** A change worded for events and logs: `max 18→3, priority 1→2`. */
export function describeChange(before: ServicePolicy, after: ServicePolicy): string {
  const parts: string[] = [];
  for (const field of ['min', 'max', 'priority'] as const) {
    if (before[field] !== after[field]) parts.push(`${field} ${before[field]}→${after[field]}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'nothing changed';
}
