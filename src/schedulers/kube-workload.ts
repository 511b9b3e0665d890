// Kubernetes workloads as the kubernetes back-end reads them: references from the config, the API objects,
// label selectors, ownership by labels, and replica counts.
import { ConfigError } from '../core/errors.js';
import type { SchedulerContext } from '../core/registry.js';
import type { Observed } from '../core/types.js';
import { LABEL_INSTANCE, LABEL_SERVICE } from './docker-labels.js';

export const KINDS = { deployment: 'deployments', statefulset: 'statefulsets' } as const;
export type Kind = keyof typeof KINDS;

/** The fields of a Deployment or StatefulSet that microscaler reads. */
export interface Workload {
  readonly metadata: {
    readonly name: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly replicas?: number;
    readonly selector?: {
      readonly matchLabels?: Readonly<Record<string, string>>;
      readonly matchExpressions?: readonly LabelExpression[];
    };
  };
  readonly status?: { readonly replicas?: number; readonly readyReplicas?: number };
}
interface LabelExpression {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}
export interface Scale {
  readonly metadata: { readonly resourceVersion?: string };
  readonly spec?: { readonly replicas?: number };
}
export interface PodList {
  readonly items: readonly { readonly metadata: { readonly deletionTimestamp?: string } }[];
}

export interface Ref {
  readonly kind: Kind;
  readonly name: string;
  /** `deployment/web`, for messages. */
  readonly label: string;
}

/** `deployment/web`, `statefulset/db`, or `web` (a Deployment). */
export function parseWorkload(text: string): Ref | undefined {
  const m =
    /^(?:(deployment|deployments|deploy|statefulset|statefulsets|sts)\/)?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(
      text,
    );
  if (!m?.[2]) return undefined;
  const kind: Kind = m[1]?.startsWith('s') ? 'statefulset' : 'deployment';
  return { kind, name: m[2], label: `${kind}/${m[2]}` };
}

/** A label selector as the API's `labelSelector` query parameter. */
export function selectorQuery(selector: NonNullable<Workload['spec']>['selector']): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/**
 * Whether a pod's labels match a workload's selector, as the API server matches them (matchLabels and
 * matchExpressions, all of them); a workload without a selector matches nothing.
 */
export function selectorMatches(
  selector: NonNullable<Workload['spec']>['selector'],
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!selector) return false;
  const has = (k: string) => Object.hasOwn(labels, k);
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => has(k) && labels[k] === v);
  return (
    labelsMatch &&
    (selector.matchExpressions ?? []).every((e) => {
      const values = e.values ?? [];
      switch (e.operator) {
        case 'In':
          return has(e.key) && values.includes(labels[e.key] as string);
        case 'NotIn':
          return !has(e.key) || !values.includes(labels[e.key] as string);
        case 'Exists':
          return has(e.key);
        case 'DoesNotExist':
          return !has(e.key);
        default:
          return false;
      }
    })
  );
}

/** A workload's replicas as counted: ready up to spec as running, the rest of spec starting, the others stopping. */
export function countReplicas(w: Workload, pods: PodList): Observed {
  const terminating = pods.items.filter((p) => p.metadata.deletionTimestamp).length;
  const desired = w.spec?.replicas ?? 1;
  const ready = w.status?.readyReplicas ?? 0;
  // status.replicas: pods not terminating; any above spec are about to be told to stop.
  const active = Math.max(w.status?.replicas ?? 0, ready);
  return {
    running: Math.min(ready, desired),
    starting: Math.max(0, desired - ready),
    stopping: terminating + Math.max(0, active - desired),
  };
}

/** Why a workload is not this service's, or undefined when it is. */
export function notOurs(w: Workload, instance: string, service: string): string | undefined {
  const labels = w.metadata.labels ?? {};
  const missing = [
    labels[LABEL_INSTANCE] === instance ? undefined : `${LABEL_INSTANCE}=${instance}`,
    labels[LABEL_SERVICE] === service ? undefined : `${LABEL_SERVICE}=${service}`,
  ].filter((x) => x !== undefined);
  return missing.length > 0 ? `does not carry the label ${missing.join(' and ')}` : undefined;
}

/** Each service's `run.workload`, parsed; every problem as a config path. */
export function workloadRefs(ctx: SchedulerContext): Map<string, Ref> {
  const refs = new Map<string, Ref>();
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const s of ctx.services) {
    const at = `services.${s.name}.run.workload`;
    if (!s.run.workload) {
      problems.push(`${at}: required by the kubernetes scheduler (e.g. deployment/web)`);
      continue;
    }
    const ref = parseWorkload(s.run.workload);
    if (!ref) {
      problems.push(`${at}: expected deployment/NAME, statefulset/NAME or NAME, got "${s.run.workload}"`);
      continue;
    }
    const other = seen.get(ref.label);
    if (other) problems.push(`${at}: ${ref.label} is already scaled by service ${other}`);
    seen.set(ref.label, s.name);
    refs.set(s.name, ref);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return refs;
}
