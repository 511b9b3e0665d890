// The controller's own reasons: why it starts or stops replicas when the plan did not change (a warm pool, a
// crash, an overshoot, a removed service, exit). The texts are what logs, events and back-ends show.
import type { Reason } from '../core/types.js';

export const EXIT: Reason = { cause: 'exit', text: 'stopping everything on exit' };

export function refilling(name: string, pool: number, frozen: number): Reason {
  return {
    cause: 'refill',
    text: `refilling the warm pool of ${name} (${pool}→${frozen} frozen) from spare capacity`,
  };
}

export function removingFrozen(name: string, count: number): Reason {
  return {
    cause: 'remove-frozen',
    text: `removing ${count} frozen replica(s) of ${name}: their memory is needed`,
  };
}

export function replacing(name: string, count: number): Reason {
  return { cause: 'replace', text: `replacing ${count} replica(s) of ${name} that stopped` };
}

export function abovePlan(name: string): Reason {
  return { cause: 'above-plan', text: `${name} above plan` };
}

export function stoppingRemoved(name: string, count: number): Reason {
  const text = `stopping ${count} replica(s) of ${name}, which is not in the config (run --keep-removed keeps them)`;
  return { cause: 'removed', text };
}
