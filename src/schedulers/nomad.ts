// Replicas as allocations of a Nomad job's task group: microscaler sets the group's count through
// POST /v1/job/:job/scale and Nomad places the allocations.
//
// Ownership: `run.workload` is "JOB/GROUP"; the group's Meta (over the job's Meta) must carry
// microscaler.instance=<name> and microscaler.service=<service>, checked at start-up and before every scale.
// Anything else is never touched.
//
// Counts come from the job's allocations: running (ClientStatus running and not reported unhealthy by a
// deployment), starting (pending, or running but not yet healthy, plus count not placed yet), stopping
// (desired stop/evict but still pending or running: they still hold their node).
// Nomad refuses to scale a group while a deployment is active ("job scaling blocked due to active
// deployment"): that is a TransientError, retried by the controller's backoff.
import { z } from 'zod';
import { TerminalError, TransientError } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { ClusterResources, Observed } from '../core/types.js';
import { answerMessage, basicAuth } from '../infra/http-json.js';
import { ClusterApi, clusterBase } from './cluster-http.js';
import { NomadNodes } from './nomad-nodes.js';
import { checkReplicas, notOurs, reconcileCounts, workloads } from './workloads.js';

export const nomadSettingsSchema = z.strictObject({
  /** The agent's HTTP API; $NOMAD_ADDR, else http://127.0.0.1:4646. */
  address: z.url().optional(),
  /** ACL token (X-Nomad-Token); $NOMAD_TOKEN otherwise. Needs read-job and scale-job on the namespace. */
  token: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
});
export type NomadSettings = z.output<typeof nomadSettingsSchema>;

const WHO = 'nomad scheduler';

interface NomadGroup {
  readonly Name: string;
  readonly Count: number;
  readonly Meta?: Readonly<Record<string, string>> | null;
}
interface NomadJob {
  readonly ID: string;
  readonly Meta?: Readonly<Record<string, string>> | null;
  readonly TaskGroups?: readonly NomadGroup[];
}
interface NomadAllocation {
  readonly TaskGroup: string;
  readonly ClientStatus: string;
  readonly DesiredStatus: string;
  readonly DeploymentStatus?: { readonly Healthy?: boolean | null } | null;
}

export interface NomadDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Per request; 10 s by default. */
  readonly timeoutMs?: number;
}

export class NomadScheduler implements Scheduler {
  private readonly api: ClusterApi;
  private readonly ctx: SchedulerContext;
  /** Job, group and last known count per service. */
  private readonly groups = new Map<string, { job: string; group: string; count: number }>();
  private closed = false;
  private readonly nodes: NomadNodes;

  static async create(settings: NomadSettings, ctx: SchedulerContext, deps: NomadDeps = {}) {
    const scheduler = new NomadScheduler(settings, ctx, deps);
    await scheduler.init();
    return scheduler;
  }

  constructor(settings: NomadSettings, ctx: SchedulerContext, deps: NomadDeps = {}) {
    const env = deps.env ?? process.env;
    this.ctx = ctx;
    // Credentials in the address (a proxy in front of Nomad) move to a header, so no message shows them.
    const { base: address, user } = clusterBase(
      settings.address ?? env.NOMAD_ADDR ?? 'http://127.0.0.1:4646',
    );
    const headers: Record<string, string> = user
      ? { authorization: basicAuth(user.name, user.password) }
      : {};
    const token = settings.token ?? (env.NOMAD_TOKEN || undefined);
    if (token) headers['X-Nomad-Token'] = token;
    const query: Record<string, string> = {};
    if (settings.namespace) query.namespace = settings.namespace;
    if (settings.region) query.region = settings.region;
    const ns = settings.namespace ?? 'default';
    this.api = new ClusterApi({
      base: address,
      headers,
      query,
      timeoutMs: deps.timeoutMs ?? 10_000,
      who: WHO,
      notFound: (what, message) => `${WHO}: ${what} not found in namespace ${ns} at ${address} (${message})`,
      accessHint: token
        ? `the ACL token lacks read-job/scale-job on namespace ${ns}`
        : 'no ACL token given: set scheduler.token or NOMAD_TOKEN',
    });
    this.nodes = new NomadNodes(this.api);
  }

  /** Finds each service's job and group and checks they are labelled as ours. */
  async init(): Promise<void> {
    const named = workloads(this.ctx, 'nomad', (w) =>
      /^[^/]+\/[^/]+$/.test(w)
        ? undefined
        : `"${w}" should be JOB/GROUP (a Nomad job and one of its task groups)`,
    );
    for (const [service, workload] of named) {
      const [job, group] = workload.split('/') as [string, string];
      const found = await this.groupOf(service, job, group);
      this.groups.set(service, { job, group, count: found.Count });
      this.ctx.logger.log('info', `adopted Nomad group ${workload} for ${service} (count ${found.Count})`);
    }
  }

  async observe(signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    const jobs = [...new Set([...this.groups.values()].map((g) => g.job))];
    const read = await Promise.all(
      jobs.map(async (job) => {
        const path = `/v1/job/${encodeURIComponent(job)}`;
        const [j, allocs] = await Promise.all([
          this.api.call<NomadJob>('GET', path, `job ${job}`, { signal }),
          this.api.call<NomadAllocation[]>('GET', `${path}/allocations`, `job ${job}`, { signal }),
        ]);
        return [job, { job: j, allocs }] as const;
      }),
    );
    const byJob = new Map(read);
    const out = new Map<string, Observed>();
    for (const [service, g] of this.groups) {
      const seen = byJob.get(g.job);
      if (!seen) continue;
      const group = seen.job.TaskGroups?.find((t) => t.Name === g.group);
      if (group) g.count = group.Count;
      const c = { running: 0, starting: 0, stopping: 0 };
      for (const a of seen.allocs) {
        if (a.TaskGroup !== g.group) continue;
        const live = a.ClientStatus === 'running' || a.ClientStatus === 'pending';
        if (!live) continue;
        if (a.DesiredStatus !== 'run') c.stopping++;
        else if (a.ClientStatus === 'pending' || a.DeploymentStatus?.Healthy === false) c.starting++;
        else c.running++;
      }
      out.set(service, reconcileCounts(c, g.count));
    }
    return out;
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    if (this.closed) throw new Error(`${WHO}: closed`);
    const g = this.groups.get(service);
    if (!g) throw new Error(`${WHO}: unknown service "${service}"`);
    checkReplicas(WHO, service, replicas);
    const group = await this.groupOf(service, g.job, g.group);
    if (group.Count === replicas) {
      g.count = replicas;
      return;
    }
    const answer = await this.api.send('POST', `/v1/job/${encodeURIComponent(g.job)}/scale`, {
      body: { Count: replicas, Target: { Group: g.group }, Message: `microscaler: ${reason}` },
    });
    if (answer.status >= 300) {
      const message = answerMessage(answer);
      if (answer.status === 409 || /active deployment/i.test(message)) {
        throw new TransientError(
          `${WHO}: Nomad refused to scale ${g.job}/${g.group} while a deployment is active; will retry (${message})`,
        );
      }
      throw this.api.failure(answer, `job ${g.job}`);
    }
    g.count = replicas;
    this.ctx.logger.log('info', `scaled Nomad group ${g.job}/${g.group} to ${replicas}`, { service, reason });
  }

  /** Ready, eligible nodes that are not draining, matching `nodes` (capacity: { from: scheduler }). */
  resources(signal: AbortSignal, nodes?: Readonly<Record<string, string>>): Promise<ClusterResources> {
    return this.nodes.read(nodes ?? {}, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async groupOf(service: string, job: string, group: string): Promise<NomadGroup> {
    const j = await this.api.call<NomadJob>('GET', `/v1/job/${encodeURIComponent(job)}`, `job ${job}`);
    const found = j.TaskGroups?.find((t) => t.Name === group);
    if (!found) {
      throw new TerminalError(
        `${WHO}: job ${job} has no task group "${group}" (services.${service}.run.workload; groups: ${(j.TaskGroups ?? []).map((t) => t.Name).join(', ') || 'none'})`,
      );
    }
    const why = notOurs({ ...(j.Meta ?? {}), ...(found.Meta ?? {}) }, this.ctx.instance, service);
    if (why)
      throw new TerminalError(
        `${WHO}: not scaling Nomad group ${job}/${group}: ${why} (set it in the group's meta)`,
      );
    return found;
  }
}
