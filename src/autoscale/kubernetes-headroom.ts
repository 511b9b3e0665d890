// The kubernetes-headroom autoscale target (issue 15): the cluster-autoscaler's overprovisioning pattern. A
// Deployment of placeholder pods (the pause image) at a negative PriorityClass is sized to the unmet need; the
// pods stay Pending where nothing has room, so the cluster-autoscaler adds nodes for them. Once every
// placeholder is scheduled (the nodes have come) it is shrunk to 0, freeing their room for the real replicas;
// an `in` request shrinks it to 0 as well. The Deployment is created if missing and labelled as ours; one
// that is not labelled ours is never touched. microscaler never drains or deletes a node.
import { z } from 'zod';
import { errorMessage, TerminalError, TransientError } from '../core/errors.js';
import type { AutoscaleTarget, Clock, Logger } from '../core/ports.js';
import type { Amount, CapacityAsk } from '../core/types.js';
import { parseMemory } from '../core/units.js';
import { KubeApiError, KubeClient, type KubeConnection } from '../infra/kube-client.js';

const memory = z.union([z.string(), z.number()]).transform((input, ctx): number => {
  try {
    const bytes = parseMemory(input);
    if (bytes > 0) return bytes;
    ctx.issues.push({ code: 'custom', message: 'must be more than 0', input });
  } catch (error) {
    ctx.issues.push({ code: 'custom', message: errorMessage(error), input });
  }
  return z.NEVER;
});

export const headroomSettingsSchema = z.strictObject({
  type: z.literal('kubernetes-headroom'),
  /** Where the Deployment is; the credentials' namespace, else "default". */
  namespace: z.string().min(1).optional(),
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a Kubernetes name (a-z, 0-9, -)' })
    .max(63)
    .default('microscaler-headroom'),
  /** Its value must be negative (the placeholders yield) and ≥ the cluster-autoscaler's cutoff (-10). */
  priorityClass: z.string().min(1).default('microscaler-headroom'),
  /** Each placeholder pod's requests: cores, and a memory size. */
  podCpu: z.number().positive().default(1),
  podMemory: memory.default(2 ** 30),
  image: z.string().min(1).default('registry.k8s.io/pause:3.9'),
  /** The most placeholder pods at once. */
  maxPods: z.int().min(1).max(1000).default(50),
  /** Seconds between looks at whether every placeholder is scheduled. */
  checkEvery: z.number().positive().default(10),
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
});
export type HeadroomSettings = z.output<typeof headroomSettingsSchema>;

const WHO = 'autoscale kubernetes-headroom';
/** The cluster-autoscaler's --expendable-pods-priority-cutoff default: pods below it never make it add nodes. */
export const EXPENDABLE_CUTOFF = -10;
const UPDATE_ATTEMPTS = 4;

/** Placeholder pods whose requests cover the amount (the larger of cpu and memory), at most max. */
export function placeholdersFor(want: Amount, pod: { cpu: number; memory: number }, max: number): number {
  const n = Math.max(Math.ceil(want.cpu / pod.cpu - 1e-9), Math.ceil(want.memory / pod.memory - 1e-9), 0);
  return Math.min(max, n);
}

/** What building the target needs (a subset of the registry's AutoscaleContext). */
export interface HeadroomContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instance: string;
  readonly kube?: (options: { kubeconfig?: string; context?: string }) => Promise<{
    readonly connection: KubeConnection;
    readonly namespace: string | undefined;
  }>;
}

export async function createHeadroomTarget(
  settings: HeadroomSettings,
  ctx: HeadroomContext,
): Promise<HeadroomTarget> {
  if (!ctx.kube) {
    throw new TerminalError(`${WHO}: no Kubernetes API credentials were given to this target`);
  }
  const target = await ctx.kube({
    ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
    ...(settings.context ? { context: settings.context } : {}),
  });
  const namespace = settings.namespace ?? target.namespace ?? 'default';
  return new HeadroomTarget(settings, new KubeClient(target.connection), namespace, ctx.instance, ctx);
}

interface Deployment {
  readonly metadata?: { readonly labels?: Record<string, string>; readonly resourceVersion?: string };
  readonly spec?: { readonly replicas?: number };
  readonly status?: { readonly readyReplicas?: number };
}

export class HeadroomTarget implements AutoscaleTarget {
  private classChecked = false;
  private watching: Promise<void> | undefined;
  private readonly stop = new AbortController();

  constructor(
    private readonly settings: HeadroomSettings,
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly instance: string,
    private readonly deps: { readonly clock: Clock; readonly logger: Logger },
  ) {}

  async ask(_instance: string, request: CapacityAsk, signal: AbortSignal): Promise<void> {
    await this.checkPriorityClass(signal);
    if (request.direction === 'in') {
      await this.setReplicas(0, `${request.reason}`, signal, false);
      return;
    }
    const s = this.settings;
    const pods = placeholdersFor(request.want, { cpu: s.podCpu, memory: s.podMemory }, s.maxPods);
    if (pods === 0) {
      throw new TerminalError(
        `${WHO}: the request (${request.reason}) has no cpu or memory to size placeholders by: give the services run.cpu and run.memory`,
      );
    }
    await this.setReplicas(pods, request.reason, signal, true);
    this.watchUntilScheduled();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.watching;
    this.client.close();
  }

  /** The PriorityClass must exist with a value that yields to every real pod and still makes nodes come. */
  private async checkPriorityClass(signal: AbortSignal): Promise<void> {
    if (this.classChecked) return;
    const name = this.settings.priorityClass;
    let pc: { value?: number; preemptionPolicy?: string };
    try {
      pc = await this.client.request('GET', `/apis/scheduling.k8s.io/v1/priorityclasses/${name}`, { signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) {
        throw new TerminalError(
          `${WHO}: PriorityClass ${name} not found; apply deploy/kubernetes/headroom.yaml (or set capacity.autoscale.target.priorityClass)`,
        );
      }
      throw kubeError(error);
    }
    const value = pc.value ?? 0;
    if (value >= 0) {
      throw new TerminalError(
        `${WHO}: PriorityClass ${name} has value ${value}: placeholders must have a negative priority so that every real pod preempts them`,
      );
    }
    if (value < EXPENDABLE_CUTOFF) {
      this.deps.logger.log(
        'warn',
        `${WHO}: PriorityClass ${name} has value ${value}, below the cluster-autoscaler's default --expendable-pods-priority-cutoff (${EXPENDABLE_CUTOFF}): it adds no nodes for such pods unless its cutoff is lower`,
      );
    }
    this.classChecked = true;
  }

  /** Sets the Deployment's replicas (creating it when missing and create is true), retrying on conflicts. */
  private async setReplicas(replicas: number, reason: string, signal: AbortSignal, create: boolean) {
    const { name } = this.settings;
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(signal);
      try {
        if (!current) {
          if (!create) return;
          await this.client.request('POST', this.collection(), { body: this.manifest(replicas), signal });
        } else {
          this.owned(current);
          if (current.spec?.replicas === replicas) return;
          await this.client.request('PATCH', `${this.collection()}/${name}`, {
            body: {
              metadata: { resourceVersion: current.metadata?.resourceVersion },
              spec: { replicas, template: this.template() },
            },
            signal,
          });
        }
      } catch (error) {
        const retry = error instanceof KubeApiError && error.status === 409 && attempt < UPDATE_ATTEMPTS;
        if (retry) continue;
        throw kubeError(error);
      }
      this.deps.logger.log('info', `${WHO}: ${this.namespace}/${name} set to ${replicas} placeholder pods`, {
        reason,
      });
      return;
    }
  }

  /**
   * Shrinks to 0 the Deployment as it was read (its resourceVersion): false when it changed since (a new
   * request resized it), to be looked at again.
   */
  private async shrink(d: Deployment, was: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.request('PATCH', `${this.collection()}/${this.settings.name}`, {
        body: { metadata: { resourceVersion: d.metadata?.resourceVersion }, spec: { replicas: 0 } },
        signal,
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw kubeError(error);
    }
    this.deps.logger.log(
      'info',
      `${WHO}: ${this.namespace}/${this.settings.name} set to 0 placeholder pods: the nodes have come (all ${was} scheduled)`,
    );
    return true;
  }

  /** Looks every checkEvery until all placeholders are scheduled (the nodes have come), then shrinks to 0. */
  private watchUntilScheduled(): void {
    if (this.watching) return;
    const signal = this.stop.signal;
    const loop = async () => {
      while (!signal.aborted) {
        await this.deps.clock.sleep(this.settings.checkEvery * 1000, signal);
        if (signal.aborted) return;
        try {
          const d = await this.read(signal);
          const want = d?.spec?.replicas ?? 0;
          if (!d || want === 0) return;
          if ((d.status?.readyReplicas ?? 0) >= want && (await this.shrink(d, want, signal))) return;
        } catch (error) {
          if (signal.aborted) return;
          this.deps.logger.log('warn', `${WHO}: cannot check the placeholders: ${errorMessage(error)}`);
        }
      }
    };
    this.watching = loop()
      .catch((error: unknown) => {
        if (!signal.aborted)
          this.deps.logger.log('warn', `${WHO}: stopped checking the placeholders: ${errorMessage(error)}`);
      })
      .finally(() => {
        this.watching = undefined;
      });
  }

  private async read(signal: AbortSignal): Promise<Deployment | undefined> {
    try {
      return await this.client.request<Deployment>('GET', `${this.collection()}/${this.settings.name}`, {
        signal,
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw kubeError(error);
    }
  }

  private owned(d: Deployment): void {
    const labels = d.metadata?.labels ?? {};
    if (labels['microscaler.instance'] !== this.instance || labels['microscaler.headroom'] !== 'true') {
      throw new TerminalError(
        `${WHO}: Deployment ${this.namespace}/${this.settings.name} exists but is not labelled as this instance's headroom (microscaler.instance=${this.instance}, microscaler.headroom=true); not touching it: pick another capacity.autoscale.target.name`,
      );
    }
  }

  private collection(): string {
    return `/apis/apps/v1/namespaces/${this.namespace}/deployments`;
  }

  private labels(): Record<string, string> {
    return {
      'app.kubernetes.io/managed-by': 'microscaler',
      'microscaler.instance': this.instance,
      'microscaler.headroom': 'true',
    };
  }

  private template(): unknown {
    const s = this.settings;
    const requests = { cpu: `${Math.round(s.podCpu * 1000)}m`, memory: String(s.podMemory) };
    return {
      metadata: { labels: this.labels() },
      spec: {
        priorityClassName: s.priorityClass,
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        containers: [{ name: 'placeholder', image: s.image, resources: { requests, limits: requests } }],
      },
    };
  }

  private manifest(replicas: number): unknown {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: this.settings.name, namespace: this.namespace, labels: this.labels() },
      spec: {
        replicas,
        selector: { matchLabels: { 'microscaler.instance': this.instance, 'microscaler.headroom': 'true' } },
        template: this.template(),
      },
    };
  }
}

/** API errors as the controller wants them: transient when asking again may help, terminal otherwise. */
function kubeError(error: unknown): Error {
  if (!(error instanceof KubeApiError)) return error as Error;
  if (error.status === 429 || error.status >= 500) return new TransientError(`${WHO}: ${error.message}`);
  return new TerminalError(`${WHO}: ${error.message}`);
}
