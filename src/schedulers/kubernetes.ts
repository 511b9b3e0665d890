// Replicas as pods of existing Kubernetes Deployments and StatefulSets: microscaler sets each workload's
// replica count through the `scale` subresource and Kubernetes does the rest. It never creates workloads.
//
// Ownership: a workload is ours only while its labels say microscaler.instance=<name> and
// microscaler.service=<service>. Start-up checks every configured workload and fails, naming each one, if
// any is missing or unlabelled. scale() reads the workload (labels and resourceVersion), reads the scale
// subresource, and patches spec.replicas with that resourceVersion: if anyone changed the workload in
// between (its labels included), the API server answers 409 Conflict and we read again.
//
// observe() reads (one GET per workload, then one pod list by its selector) on every call: the counts are
// always fresh, and a lost watch event can never make them wrong. watch() adds a pod watch per workload only
// to wake the controller at once when a pod changes. The workload is read before its pods so that a pod
// that starts terminating in between is counted twice (safe), never zero times.
import { z } from 'zod';
import { errorMessage, TerminalError } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { ClusterResources, Observed } from '../core/types.js';
import { KubeApiError, KubeClient } from '../infra/kube-client.js';
import { type KubeTarget, resolveKubeTarget } from './kube-config.js';
import { kubeResources } from './kube-nodes.js';
import { PodWatch } from './kube-watch.js';
import {
  countReplicas,
  KINDS,
  notOurs,
  type PodList,
  type Ref,
  type Scale,
  selectorMatches,
  selectorQuery,
  type Workload,
  workloadRefs,
} from './kube-workload.js';

export { parseWorkload, selectorQuery, type Workload } from './kube-workload.js';

export const kubernetesSettingsSchema = z.strictObject({
  /** Where the workloads are; the service account's (or the context's) namespace, else "default". */
  namespace: z.string().min(1).optional(),
  /** A kubeconfig file; $KUBECONFIG or ~/.kube/config when not running in a cluster. */
  kubeconfig: z.string().min(1).optional(),
  /** The kubeconfig context; its current-context by default. */
  context: z.string().min(1).optional(),
});
export type KubernetesSettings = z.output<typeof kubernetesSettingsSchema>;

const UPDATE_ATTEMPTS = 8;

export interface KubernetesDeps {
  /** Credentials and server, resolved from the settings and environment by default. */
  readonly target?: KubeTarget;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly serviceAccountDir?: string;
  /** Per-request timeout; 10 s by default. */
  readonly timeoutMs?: number;
}

export class KubernetesScheduler implements Scheduler {
  readonly client: KubeClient;
  readonly namespace: string;
  private readonly ctx: SchedulerContext;
  private readonly refs: Map<string, Ref>;
  /** Last counts seen per service: kept when a workload stops being ours, so capacity stays counted. */
  private readonly last = new Map<string, Observed>();
  /** Services whose workload is currently missing or unlabelled (warned once). */
  private readonly lost = new Set<string>();
  /** Each workload's resourceVersion as last observed ("absent" while it does not exist). */
  private readonly revisions = new Map<string, string>();
  private readonly timeoutMs: number;
  /** Each workload's pod selector, as read at start-up (for watches). */
  private readonly selectors = new Map<string, string>();
  /** Each workload's selector itself: a pod that matches one is our replica (capacity counts it as ours). */
  private readonly podSelectors: NonNullable<Workload['spec']>['selector'][] = [];
  private readonly watches = new Set<PodWatch>();
  private closed = false;

  static async create(settings: KubernetesSettings, ctx: SchedulerContext, deps: KubernetesDeps = {}) {
    const refs = workloadRefs(ctx);
    const target =
      deps.target ??
      resolveKubeTarget({
        ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
        ...(settings.context ? { context: settings.context } : {}),
        env: deps.env ?? process.env,
        ...(deps.serviceAccountDir ? { serviceAccountDir: deps.serviceAccountDir } : {}),
      });
    const scheduler = new KubernetesScheduler(settings, ctx, target, refs, deps.timeoutMs);
    try {
      await scheduler.init();
    } catch (error) {
      await scheduler.close();
      throw error;
    }
    return scheduler;
  }

  private constructor(
    settings: KubernetesSettings,
    ctx: SchedulerContext,
    target: KubeTarget,
    refs: Map<string, Ref>,
    timeoutMs = 10_000,
  ) {
    this.ctx = ctx;
    this.client = new KubeClient(target.connection);
    this.namespace = settings.namespace ?? target.namespace ?? 'default';
    this.refs = refs;
    this.timeoutMs = timeoutMs;
  }

  /** Checks that every workload exists and is labelled as ours; names every one that is not. */
  async init(): Promise<void> {
    const problems: string[] = [];
    for (const [service, ref] of this.refs) {
      try {
        const w = await this.read(ref);
        const why = notOurs(w, this.ctx.instance, service);
        if (why) problems.push(`service ${service}: ${this.where(ref)} ${why}; not touching it`);
        else {
          this.selectors.set(service, selectorQuery(w.spec?.selector));
          this.podSelectors.push(w.spec?.selector);
          this.ctx.logger.log('info', `adopted ${this.where(ref)} for ${service}`);
        }
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) {
          problems.push(
            `service ${service}: ${this.where(ref)} does not exist (microscaler never creates workloads)`,
          );
        } else throw error;
      }
    }
    if (problems.length > 0) throw new Error(`kubernetes scheduler:\n${problems.join('\n')}`);
  }

  async observe(signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    try {
      const entries = await Promise.all(
        [...this.refs].map(
          async ([service, ref]) => [service, await this.observeOne(service, ref, signal)] as const,
        ),
      );
      return new Map(entries);
    } catch (error) {
      throw terminal(error);
    }
  }

  revision(service: string): string | undefined {
    return this.revisions.get(service);
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    if (this.closed) throw new Error('kubernetes scheduler: closed');
    const ref = this.refs.get(service);
    if (!ref) throw new Error(`kubernetes scheduler: unknown service "${service}"`);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new RangeError(`kubernetes scheduler: cannot scale "${service}" to ${replicas} replicas`);
    }
    try {
      await this.scaleOnce(service, ref, replicas, reason);
    } catch (error) {
      throw terminal(error);
    }
  }

  private async scaleOnce(service: string, ref: Ref, replicas: number, reason: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const workload = await this.readOwned(service, ref);
      const scale = await this.call<Scale>('GET', `${this.path(ref)}/scale`, ref);
      const version = scale.metadata.resourceVersion;
      // A different version means it changed between the two reads (its labels too, maybe): read again.
      const fresh = version === workload.metadata.resourceVersion;
      if (fresh && scale.spec?.replicas === replicas) return;
      try {
        if (!fresh) throw new KubeApiError(409, 'Conflict', 'changed between reads');
        await this.call('PATCH', `${this.path(ref)}/scale`, ref, {
          metadata: { resourceVersion: version },
          spec: { replicas },
        });
        this.ctx.logger.log('info', `scaled ${this.where(ref)} to ${replicas}`, { service, reason });
        return;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409 && attempt < UPDATE_ATTEMPTS) continue;
        if (error instanceof KubeApiError && error.status === 409) {
          throw new Error(
            `kubernetes scheduler: ${this.where(ref)} was changed by someone else ${attempt} times while scaling it; will retry`,
          );
        }
        throw error;
      }
    }
  }

  /** Watches each workload's pods, so a change is acted on at once rather than at the next tick. */
  watch(onChange: (service: string) => void): () => void {
    if (this.closed) return () => {};
    const mine = [...this.selectors].map(([service, labelSelector]) => {
      const ref = this.refs.get(service) as Ref;
      return new PodWatch({
        client: this.client,
        path: `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`,
        labelSelector,
        onChange: () => onChange(service),
        clock: this.ctx.clock,
        logger: this.ctx.logger,
        what: this.where(ref),
      });
    });
    for (const w of mine) this.watches.add(w);
    return () => {
      for (const w of mine) {
        this.watches.delete(w);
        void w.stop();
      }
    };
  }

  /**
   * The nodes' allocatable less what pods that are not ours request (capacity: { from: scheduler }): a pod is
   * ours when it is in our namespace and matches the selector of a workload we scale, or when it is one of
   * this instance's kubernetes-headroom placeholders (they give way to any real pod, so their room is ours).
   */
  resources(signal: AbortSignal, nodes?: Readonly<Record<string, string>>): Promise<ClusterResources> {
    const headroom = (labels: Readonly<Record<string, string>>) =>
      labels['microscaler.headroom'] === 'true' && labels['microscaler.instance'] === this.ctx.instance;
    const ours = (pod: { namespace: string; labels: Readonly<Record<string, string>> }) =>
      headroom(pod.labels) ||
      (pod.namespace === this.namespace && this.podSelectors.some((s) => selectorMatches(s, pod.labels)));
    return kubeResources(this.client, { ours, ...(nodes ? { nodeSelector: nodes } : {}) }, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.stop()));
    this.watches.clear();
    this.client.close();
  }

  private async observeOne(service: string, ref: Ref, signal?: AbortSignal): Promise<Observed> {
    let w: Workload;
    try {
      w = await this.read(ref, signal);
      this.revisions.set(service, w.metadata.resourceVersion ?? '');
      const why = notOurs(w, this.ctx.instance, service);
      if (why) throw new KubeApiError(0, 'NotOurs', why);
    } catch (error) {
      if (!(error instanceof KubeApiError) || (error.status !== 404 && error.reason !== 'NotOurs'))
        throw error;
      if (error.status === 404) this.revisions.set(service, 'absent');
      // One workload gone or relabelled must not blind the others: warn once, keep its last counts.
      if (!this.lost.has(service)) {
        this.lost.add(service);
        const why = error.status === 404 ? 'no longer exists' : error.message;
        this.ctx.logger.log('warn', `${this.where(ref)} ${why}; not touching it`, { service });
      }
      return this.last.get(service) ?? { running: 0, starting: 0, stopping: 0 };
    }
    if (this.lost.delete(service))
      this.ctx.logger.log('info', `${this.where(ref)} is ours again`, { service });
    const pods = await this.call<PodList>(
      'GET',
      `/api/v1/namespaces/${this.namespace}/pods`,
      ref,
      undefined,
      {
        query: { labelSelector: selectorQuery(w.spec?.selector) },
        ...(signal ? { signal } : {}),
      },
    );
    const observed = countReplicas(w, pods);
    this.last.set(service, observed);
    return observed;
  }

  private async readOwned(service: string, ref: Ref): Promise<Workload> {
    const w = await this.call<Workload>('GET', this.path(ref), ref);
    const why = notOurs(w, this.ctx.instance, service);
    if (why) throw new TerminalError(`kubernetes scheduler: ${this.where(ref)} ${why}; not scaling it`);
    return w;
  }

  private read(ref: Ref, signal?: AbortSignal): Promise<Workload> {
    return this.client.request<Workload>('GET', this.path(ref), {
      timeoutMs: this.timeoutMs,
      ...(signal ? { signal } : {}),
    });
  }

  /** A request whose 404 names the workload. */
  private async call<T>(
    method: string,
    path: string,
    ref: Ref,
    body?: unknown,
    options: { query?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<T> {
    try {
      return await this.client.request<T>(method, path, {
        ...options,
        timeoutMs: this.timeoutMs,
        ...(body !== undefined ? { body } : {}),
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) {
        throw new TerminalError(
          `kubernetes scheduler: ${this.where(ref)} does not exist (${errorMessage(error)})`,
        );
      }
      throw error;
    }
  }

  private path(ref: Ref): string {
    return `/apis/apps/v1/namespaces/${encodeURIComponent(this.namespace)}/${KINDS[ref.kind]}/${ref.name}`;
  }

  private where(ref: Ref): string {
    return `${ref.label} in namespace ${this.namespace}`;
  }
}

/** 401, 403 and 404 do not change by asking again: a TerminalError, which the controller does not retry on a timer. */
function terminal(error: unknown): unknown {
  if (error instanceof KubeApiError && [401, 403, 404].includes(error.status)) {
    return new TerminalError(error.message, { cause: error });
  }
  return error;
}
