// Replicas as tasks of a Marathon app: microscaler sets `instances` with PUT /v2/apps/:id and Marathon
// deploys them.
//
// Ownership: `run.workload` is the app id ("/shop/web"); the app's labels must carry
// microscaler.instance=<name> and microscaler.service=<service>, checked at start-up and before every scale.
//
// Counts (GET /v2/apps/:id?embed=app.tasks): running = tasksHealthy when the app has health checks, else
// tasksRunning; starting = tasksStaged plus instances not yet running or staged; stopping = tasks in state
// TASK_KILLING (Marathon lists them until they are gone), plus any surplus over `instances` not yet killed.
// A 409 (the app is locked by a deployment in progress) is retried with backoff, 250 ms doubling to 5 s
// as Force12 did, for at most `lockWait`; then a TransientError leaves it to the controller. Never
// `?force=true`: that would cancel someone else's deployment.
import { z } from 'zod';
import { TerminalError, TransientError } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { Observed } from '../core/types.js';
import { answerMessage, basicAuth } from '../infra/http-json.js';
import { ClusterApi, clusterBase } from './cluster-http.js';
import { checkReplicas, notOurs, reconcileCounts, workloads } from './workloads.js';

export const marathonSettingsSchema = z
  .strictObject({
    /** Marathon's base URL, e.g. http://marathon.mesos:8080 (DC/OS: https://<master>/service/marathon). */
    url: z.url(),
    /** DC/OS ACS token, sent as `Authorization: token=<token>`. */
    token: z.string().min(1).optional(),
    /** HTTP basic auth. */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
  })
  .refine((s) => !(s.token && s.username), { message: 'give token or username/password, not both' });
export type MarathonSettings = z.output<typeof marathonSettingsSchema>;

const WHO = 'marathon scheduler';

interface MarathonApp {
  readonly id: string;
  readonly instances: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly tasksRunning?: number;
  readonly tasksStaged?: number;
  readonly tasksHealthy?: number;
  readonly healthChecks?: readonly unknown[];
  readonly tasks?: readonly { readonly state?: string }[];
}

export interface MarathonDeps {
  /** Per request; 10 s by default. */
  readonly timeoutMs?: number;
  /** How long scale() keeps retrying a locked app; 20 s by default. */
  readonly lockWaitMs?: number;
}

export class MarathonScheduler implements Scheduler {
  private readonly api: ClusterApi;
  private readonly lockWaitMs: number;
  private readonly ctx: SchedulerContext;
  private readonly apps = new Map<string, { id: string; instances: number }>();
  private readonly stop = new AbortController();

  static async create(settings: MarathonSettings, ctx: SchedulerContext, deps: MarathonDeps = {}) {
    const scheduler = new MarathonScheduler(settings, ctx, deps);
    await scheduler.init();
    return scheduler;
  }

  constructor(settings: MarathonSettings, ctx: SchedulerContext, deps: MarathonDeps = {}) {
    this.ctx = ctx;
    // Credentials in the URL move to a header, so no message ever shows them.
    const { base, user: inUrl } = clusterBase(settings.url);
    const user = settings.username ?? (inUrl?.name || undefined);
    const pass = settings.password ?? inUrl?.password ?? '';
    let auth: string | undefined;
    if (settings.token) auth = `token=${settings.token}`;
    else if (user) auth = basicAuth(user, pass);
    this.api = new ClusterApi({
      base,
      headers: auth ? { authorization: auth } : {},
      timeoutMs: deps.timeoutMs ?? 10_000,
      who: WHO,
      notFound: (what, message) => `${WHO}: Marathon ${what} not found at ${base} (${message})`,
      accessHint: auth
        ? 'check the token or user: it needs read and update on the app'
        : 'no credentials given: set scheduler.token or scheduler.username/password',
    });
    this.lockWaitMs = deps.lockWaitMs ?? 20_000;
  }

  async init(): Promise<void> {
    const named = workloads(this.ctx, 'marathon', (w) =>
      /^\/?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?)*$/.test(w)
        ? undefined
        : `"${w}" is not a Marathon app id (lower-case path segments, e.g. /shop/web)`,
    );
    for (const [service, workload] of named) {
      const id = workload.startsWith('/') ? workload : `/${workload}`;
      const app = await this.owned(service, id);
      this.apps.set(service, { id, instances: app.instances });
      this.ctx.logger.log('info', `adopted Marathon app ${id} for ${service} (${app.instances} instances)`);
    }
  }

  async observe(signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    const entries = await Promise.all(
      [...this.apps].map(async ([service, a]) => {
        const app = await this.app(a.id, signal);
        a.instances = app.instances;
        const healthChecked = (app.healthChecks?.length ?? 0) > 0;
        const c = {
          running: (healthChecked ? app.tasksHealthy : app.tasksRunning) ?? 0,
          starting: app.tasksStaged ?? 0,
          stopping: (app.tasks ?? []).filter((t) => t.state === 'TASK_KILLING').length,
        };
        if (healthChecked) c.starting += Math.max(0, (app.tasksRunning ?? 0) - c.running);
        return [service, reconcileCounts(c, app.instances)] as const;
      }),
    );
    return new Map(entries);
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    if (this.stop.signal.aborted) throw new Error(`${WHO}: closed`);
    const a = this.apps.get(service);
    if (!a) throw new Error(`${WHO}: unknown service "${service}"`);
    checkReplicas(WHO, service, replicas);
    const deadline = this.ctx.clock.now() + this.lockWaitMs;
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      const app = await this.owned(service, a.id);
      if (app.instances === replicas) {
        a.instances = replicas;
        return;
      }
      const answer = await this.api.send('PUT', `/v2/apps${a.id}`, { body: { instances: replicas } });
      if (answer.status < 300) {
        a.instances = replicas;
        this.ctx.logger.log('info', `scaled Marathon app ${a.id} to ${replicas}`, { service, reason });
        return;
      }
      if (answer.status !== 409) throw this.api.failure(answer, `app ${a.id}`);
      if (this.ctx.clock.now() + wait > deadline) {
        throw new TransientError(
          `${WHO}: app ${a.id} stayed locked by a deployment for ${this.lockWaitMs} ms; will retry (${answerMessage(answer)})`,
        );
      }
      await this.ctx.clock.sleep(wait, this.stop.signal);
      if (this.stop.signal.aborted) throw new Error(`${WHO}: closed`);
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
  }

  private async owned(service: string, id: string): Promise<MarathonApp> {
    const app = await this.app(id);
    const why = notOurs(app.labels, this.ctx.instance, service);
    if (why) {
      throw new TerminalError(`${WHO}: not scaling Marathon app ${id}: ${why} (set it in the app's labels)`);
    }
    return app;
  }

  private async app(id: string, signal?: AbortSignal): Promise<MarathonApp> {
    const body = await this.api.call<{ app?: MarathonApp } | undefined>('GET', `/v2/apps${id}`, `app ${id}`, {
      query: { embed: 'app.tasks' },
      signal,
    });
    const app = body?.app;
    if (!app) throw new TransientError(`${WHO}: GET /v2/apps${id} answered without an app`);
    return app;
  }
}
