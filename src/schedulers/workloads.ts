// What the cluster back-ends (nomad, marathon, ecs) share: each configured service names an existing
// workload in `run.workload`, and that workload must say it belongs to this instance and service.
import { ConfigError } from '../core/errors.js';
import type { SchedulerContext } from '../core/registry.js';
import { LABEL_INSTANCE, LABEL_SERVICE } from './docker-labels.js';

export { LABEL_INSTANCE, LABEL_SERVICE };

/** Each service's `run.workload`, checked by `check` (which returns a problem or undefined); ConfigError lists all. */
export function workloads(
  ctx: SchedulerContext,
  type: string,
  check: (workload: string) => string | undefined,
): Map<string, string> {
  const problems: string[] = [];
  const out = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const s of ctx.services) {
    const at = `services.${s.name}.run.workload`;
    const w = s.run.workload;
    if (!w) {
      problems.push(`${at}: the ${type} scheduler needs the name of an existing workload to scale`);
      continue;
    }
    const problem = check(w);
    if (problem) problems.push(`${at}: ${problem}`);
    else if (seen.has(w)) problems.push(`${at}: "${w}" is already scaled by service ${seen.get(w)}`);
    else {
      seen.set(w, s.name);
      out.set(s.name, w);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Why a workload with these labels is not ours, or undefined when it is. */
export function notOurs(
  labels: Readonly<Record<string, string>> | undefined,
  instance: string,
  service: string,
): string | undefined {
  const l = labels ?? {};
  if (l[LABEL_INSTANCE] === instance && l[LABEL_SERVICE] === service) return undefined;
  return `it is not labelled ${LABEL_INSTANCE}=${instance} and ${LABEL_SERVICE}=${service} (found ${LABEL_INSTANCE}=${l[LABEL_INSTANCE] ?? '(none)'}, ${LABEL_SERVICE}=${l[LABEL_SERVICE] ?? '(none)'}); microscaler never scales a workload it does not own`;
}

/** Moves the gap between the requested count and what exists into starting (not placed yet) or stopping. */
export function reconcileCounts(
  c: { running: number; starting: number; stopping: number },
  requested: number,
): { running: number; starting: number; stopping: number } {
  const active = c.running + c.starting;
  if (active < requested) return { ...c, starting: c.starting + requested - active };
  if (active > requested) {
    const surplus = active - requested;
    const fromStarting = Math.min(surplus, c.starting);
    return {
      running: c.running - (surplus - fromStarting),
      starting: c.starting - fromStarting,
      stopping: c.stopping + surplus,
    };
  }
  return c;
}

export function checkReplicas(who: string, service: string, replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`${who}: cannot scale "${service}" to ${replicas} replicas`);
  }
}
