// Replicas as tasks of an Amazon ECS service: microscaler sets the service's desiredCount with
// UpdateService and ECS places the tasks. The AWS SDK is loaded (dynamic import) only when this back-end
// is built, and finds credentials through its usual chain (environment, profile, SSO, container or
// instance role).
//
// Ownership: `run.workload` is the service name in `cluster`; the service's tags (DescribeServices with
// include TAGS, so one call reads counts and ownership) must carry microscaler.instance=<name> and
// microscaler.service=<service>, checked at start-up and before every scale.
//
// Counts: running = runningCount, starting = pendingCount (plus desired tasks ECS has not placed yet),
// stopping = the service's tasks with desiredStatus STOPPED whose lastStatus is not yet STOPPED
// (DEACTIVATING, STOPPING, ...: they still hold their instance), from ListTasks + DescribeTasks.
import { z } from 'zod';
import { ConfigError, errorMessage, TerminalError, TransientError } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { Observed } from '../core/types.js';
import { checkReplicas, notOurs, reconcileCounts, workloads } from './workloads.js';

export const ecsSettingsSchema = z.strictObject({
  /** The cluster's name or ARN. */
  cluster: z.string().min(1),
  /** AWS_REGION (or the profile's region) otherwise. */
  region: z.string().min(1).optional(),
  /** Another ECS endpoint (e.g. LocalStack); AWS's own otherwise. */
  endpoint: z.url().optional(),
});
export type EcsSettings = z.output<typeof ecsSettingsSchema>;

const WHO = 'ecs scheduler';

interface EcsService {
  readonly serviceName?: string;
  readonly status?: string;
  readonly desiredCount?: number;
  readonly runningCount?: number;
  readonly pendingCount?: number;
  readonly schedulingStrategy?: string;
  readonly tags?: readonly { readonly key?: string; readonly value?: string }[];
}

/** The four ECS calls this back-end makes: the SDK in production, the same SDK against a fake in tests. */
export interface EcsCalls {
  describeServices(
    names: string[],
    signal?: AbortSignal,
  ): Promise<{ services: EcsService[]; failures: { arn?: string; reason?: string }[] }>;
  updateService(name: string, desiredCount: number): Promise<void>;
  /** Tasks of a service that were told to stop and have not stopped yet. */
  countStopping(name: string, signal?: AbortSignal): Promise<number>;
  close(): void;
}

export interface EcsDeps {
  /** Extra SDK client settings (tests give credentials here). */
  readonly clientConfig?: Record<string, unknown>;
  /** Per call; 10 s by default. */
  readonly timeoutMs?: number;
}

export class EcsScheduler implements Scheduler {
  private readonly services = new Map<string, { name: string; desired: number }>();
  private closed = false;

  static async create(settings: EcsSettings, ctx: SchedulerContext, deps: EcsDeps = {}) {
    const calls = await sdkCalls(settings, deps.clientConfig ?? {}, deps.timeoutMs ?? 10_000);
    const scheduler = new EcsScheduler(settings, ctx, calls);
    try {
      await scheduler.init();
    } catch (error) {
      await scheduler.close();
      throw error;
    }
    return scheduler;
  }

  constructor(
    private readonly settings: EcsSettings,
    private readonly ctx: SchedulerContext,
    private readonly calls: EcsCalls,
  ) {}

  async init(): Promise<void> {
    const named = workloads(this.ctx, 'ecs', (w) =>
      /^[A-Za-z0-9_-]{1,255}$/.test(w) ? undefined : `"${w}" is not an ECS service name`,
    );
    const found = await this.describe([...named.values()]);
    for (const [service, name] of named) {
      const s = this.owned(found, service, name);
      if (s.schedulingStrategy === 'DAEMON') {
        throw new Error(`${WHO}: ECS service ${name} uses the DAEMON strategy: its count cannot be set`);
      }
      this.services.set(service, { name, desired: s.desiredCount ?? 0 });
      this.ctx.logger.log('info', `adopted ECS service ${name} for ${service} (desired ${s.desiredCount})`);
    }
  }

  async observe(signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    const list = [...this.services];
    const [found, stopping] = await Promise.all([
      this.describe(
        list.map(([, s]) => s.name),
        signal,
      ),
      Promise.all(list.map(([, s]) => this.guard(this.calls.countStopping(s.name, signal)))),
    ]);
    const out = new Map<string, Observed>();
    list.forEach(([service, s], i) => {
      const d = found.get(s.name);
      if (!d) return;
      s.desired = d.desiredCount ?? s.desired;
      const c = { running: d.runningCount ?? 0, starting: d.pendingCount ?? 0, stopping: stopping[i] ?? 0 };
      out.set(service, reconcileCounts(c, s.desired));
    });
    return out;
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    if (this.closed) throw new Error(`${WHO}: closed`);
    const s = this.services.get(service);
    if (!s) throw new Error(`${WHO}: unknown service "${service}"`);
    checkReplicas(WHO, service, replicas);
    const current = this.owned(await this.describe([s.name]), service, s.name);
    if (current.desiredCount === replicas) {
      s.desired = replicas;
      return;
    }
    await this.guard(this.calls.updateService(s.name, replicas), s.name);
    s.desired = replicas;
    this.ctx.logger.log('info', `scaled ECS service ${s.name} to ${replicas}`, { service, reason });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.calls.close();
  }

  private owned(found: Map<string, EcsService>, service: string, name: string): EcsService {
    const s = found.get(name);
    if (!s || s.status === 'INACTIVE') {
      throw new TerminalError(
        `${WHO}: ECS service ${name} not found in cluster ${this.settings.cluster} (services.${service}.run.workload)`,
      );
    }
    if (s.status !== 'ACTIVE') throw new Error(`${WHO}: ECS service ${name} is ${s.status}, not ACTIVE`);
    const tags = Object.fromEntries((s.tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
    const why = notOurs(tags, this.ctx.instance, service);
    if (why) {
      throw new TerminalError(
        `${WHO}: not scaling ECS service ${name}: ${why} (set them as the service's tags)`,
      );
    }
    return s;
  }

  private async describe(names: string[], signal?: AbortSignal): Promise<Map<string, EcsService>> {
    const out = new Map<string, EcsService>();
    // DescribeServices takes at most 10 services a call.
    for (let i = 0; i < names.length; i += 10) {
      const { services } = await this.guard(this.calls.describeServices(names.slice(i, i + 10), signal));
      for (const s of services) if (s.serviceName) out.set(s.serviceName, s);
    }
    return out;
  }

  /** Turns SDK errors into messages that say what to do; throttling and outages are transient. */
  private async guard<T>(call: Promise<T>, service?: string): Promise<T> {
    try {
      return await call;
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const message = errorMessage(error);
      const where = `cluster ${this.settings.cluster}${service ? `, service ${service}` : ''}`;
      if (name === 'ClusterNotFoundException') {
        throw new ConfigError([
          `scheduler.cluster: ECS cluster ${this.settings.cluster} not found (${message})`,
        ]);
      }
      // Terminal: asking again cannot change them (the controller holds the service until something changes).
      if (name === 'ServiceNotFoundException' || name === 'ServiceNotActiveException') {
        throw new TerminalError(`${WHO}: ${where}: ${name}: ${message}`);
      }
      if (
        /AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|InvalidClientTokenId|CredentialsProvider/.test(
          name,
        ) ||
        status === 401 ||
        status === 403
      ) {
        throw new TerminalError(
          `${WHO}: AWS refused ${where} (${name}: ${message}); check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, role) and that they allow ecs:DescribeServices, ecs:UpdateService, ecs:ListTasks, ecs:DescribeTasks`,
        );
      }
      // A 404 with no ECS error type: the endpoint is not ECS (a wrong `endpoint` or proxy path).
      if (status === 404) {
        throw new TerminalError(
          `${WHO}: ${where}: HTTP 404 from ${this.settings.endpoint ?? 'ECS'} (${name ? `${name}: ` : ''}${message}); check scheduler.endpoint and scheduler.region`,
        );
      }
      if (name === 'AbortError' || name === 'TimeoutError') {
        throw new TransientError(`${WHO}: ${where}: ECS did not answer in time`);
      }
      if (
        /Throttl|ServerException|ServiceUnavailable|RequestLimitExceeded/.test(name) ||
        (status ?? 0) >= 500
      ) {
        throw new TransientError(`${WHO}: ${where}: ${name}: ${message}`);
      }
      if (!status) throw new TransientError(`${WHO}: ${where}: ${name ? `${name}: ` : ''}${message}`);
      throw new Error(`${WHO}: ${where}: ${name}: ${message}`);
    }
  }
}

async function sdkCalls(
  settings: EcsSettings,
  extra: Record<string, unknown>,
  timeoutMs: number,
): Promise<EcsCalls> {
  const sdk = await import('@aws-sdk/client-ecs');
  const client = new sdk.ECSClient({
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    // One retry at most: the controller's own backoff is the retry, and a tick must not hang.
    maxAttempts: 2,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...extra,
  });
  const bounded = (signal?: AbortSignal) => {
    const t = AbortSignal.timeout(timeoutMs);
    return signal ? AbortSignal.any([signal, t]) : t;
  };
  const cluster = settings.cluster;
  return {
    async describeServices(names, signal) {
      const out = await client.send(
        new sdk.DescribeServicesCommand({ cluster, services: names, include: ['TAGS'] }),
        { abortSignal: bounded(signal) },
      );
      return { services: out.services ?? [], failures: out.failures ?? [] };
    },
    async updateService(name, desiredCount) {
      await client.send(new sdk.UpdateServiceCommand({ cluster, service: name, desiredCount }), {
        abortSignal: bounded(),
      });
    },
    async countStopping(name, signal) {
      const listed = await client.send(
        new sdk.ListTasksCommand({ cluster, serviceName: name, desiredStatus: 'STOPPED' }),
        { abortSignal: bounded(signal) },
      );
      const arns = listed.taskArns ?? [];
      let n = 0;
      for (let i = 0; i < arns.length; i += 100) {
        const d = await client.send(
          new sdk.DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }),
          {
            abortSignal: bounded(signal),
          },
        );
        n += (d.tasks ?? []).filter((t) => t.lastStatus !== 'STOPPED').length;
      }
      return n;
    },
    close: () => client.destroy(),
  };
}
