// Replicas as tasks of Docker Swarm services: microscaler sets each service's replica count and Swarm
// places the tasks, on one node or a hundred.
//
// Ownership: a Swarm service is ours when its labels say microscaler.instance=<name> and
// microscaler.service=<service>. At start-up each configured service is found by those labels (adopted)
// or, when there is none, created from the config's `run` section with 0 replicas. A service that has the
// name we would give but not our labels is never touched: start-up fails and says so.
//
// scale() reads the spec and its version, sets the replica count and updates; "update out of sequence"
// (someone else updated in between) means read again and retry. observe() counts tasks: running, starting
// (including replicas the orchestrator has not made a task for yet), and stopping (told to shut down but
// still running, which still occupy their node).
import { z } from 'zod';
import { errorMessage, TerminalError } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import { type ClusterResources, DEFAULT_STOP_GRACE_MS, type Observed, type RunSpec } from '../core/types.js';
import { DockerApi, DockerApiError, filters } from '../infra/docker-api.js';
import { Images } from './docker/images.js';
import { LABEL_INSTANCE, LABEL_SERVICE, requireImages } from './docker-labels.js';
import { swarmResources } from './node-resources.js';

export const swarmSettingsSchema = z.strictObject({
  /** The manager's engine, as DOCKER_HOST would say it; DOCKER_HOST (and the local socket) otherwise. */
  host: z.string().min(1).optional(),
});
export type SwarmSettings = z.output<typeof swarmSettingsSchema>;

const UPDATE_ATTEMPTS = 5;
/** Task states before `running`, and after it. */
const STARTING = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
]);

interface SwarmService {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly Spec: {
    readonly Name: string;
    readonly Labels?: Readonly<Record<string, string>>;
    readonly Mode?: { readonly Replicated?: { readonly Replicas?: number }; readonly Global?: unknown };
    readonly [key: string]: unknown;
  };
}

interface Task {
  readonly ServiceID: string;
  readonly DesiredState?: string;
  readonly Status?: { readonly State?: string };
}

export interface SwarmDeps {
  readonly api?: DockerApi;
  readonly env?: NodeJS.ProcessEnv;
}

/** A Swarm service name: letters, digits and dashes, at most 63 characters. */
export function swarmServiceName(instance: string, service: string): string {
  return `${instance}-${service}`
    .replace(/[^a-zA-Z0-9-]/g, '-')
    .slice(0, 63)
    .replace(/-+$/, '');
}

export class SwarmScheduler implements Scheduler {
  readonly api: DockerApi;
  private readonly ctx: SchedulerContext;
  /** Swarm service id and last known replica count, per configured service. */
  private readonly services = new Map<
    string,
    { id: string; name: string; replicas: number; created: boolean }
  >();
  private closed = false;

  static async create(settings: SwarmSettings, ctx: SchedulerContext, deps: SwarmDeps = {}) {
    const scheduler = new SwarmScheduler(settings, ctx, deps);
    try {
      await scheduler.init();
    } catch (error) {
      await scheduler.close();
      throw error;
    }
    return scheduler;
  }

  constructor(settings: SwarmSettings, ctx: SchedulerContext, deps: SwarmDeps = {}) {
    this.ctx = ctx;
    this.api = deps.api ?? DockerApi.fromEnv(deps.env ?? process.env, settings.host);
  }

  /** Checks that this engine manages a swarm, adopts labelled services, creates the missing ones. */
  async init(): Promise<void> {
    const info = await this.api.request<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>(
      'GET',
      '/info',
    );
    if (info.body.Swarm?.LocalNodeState !== 'active' || info.body.Swarm.ControlAvailable !== true) {
      throw new Error(
        `swarm scheduler: the engine at ${this.api.address} is not a swarm manager (state ${info.body.Swarm?.LocalNodeState ?? 'unknown'}); run docker swarm init, or point DOCKER_HOST at a manager`,
      );
    }
    const { body } = await this.api.request<SwarmService[]>('GET', '/services', {
      query: { filters: filters({ label: [`${LABEL_INSTANCE}=${this.ctx.instance}`] }) },
    });
    const ours = new Map<string, SwarmService>();
    for (const s of body) {
      const labels = s.Spec.Labels ?? {};
      const service = labels[LABEL_SERVICE];
      if (labels[LABEL_INSTANCE] !== this.ctx.instance || !service) continue;
      if (ours.has(service)) {
        throw new Error(
          `swarm scheduler: two Swarm services (${ours.get(service)?.Spec.Name}, ${s.Spec.Name}) are labelled as service "${service}" of instance "${this.ctx.instance}"; remove one`,
        );
      }
      ours.set(service, s);
    }
    requireImages(this.ctx, 'swarm', new Set(ours.keys()));
    const images = new Images(
      this.api,
      this.ctx.logger,
      this.ctx.services
        .filter((s) => !ours.has(s.name) && s.run.image)
        .map((s) => ({ service: s.name, image: s.run.image as string, pull: s.run.pull ?? 'missing' })),
      () => this.ctx.clock.now(),
    );
    // Pulled on this node so a one-node swarm is ready; other nodes pull when a task lands on them.
    await images.prepare();
    for (const s of this.ctx.services) {
      const found = ours.get(s.name);
      if (found) {
        if (!found.Spec.Mode?.Replicated) {
          throw new Error(
            `swarm scheduler: Swarm service ${found.Spec.Name} is not replicated (global mode cannot be scaled)`,
          );
        }
        this.services.set(s.name, {
          id: found.ID,
          name: found.Spec.Name,
          replicas: found.Spec.Mode.Replicated.Replicas ?? 0,
          created: false,
        });
        this.ctx.logger.log('info', `adopted Swarm service ${found.Spec.Name} for ${s.name}`);
      } else {
        this.services.set(s.name, await this.createService(s.name, s.run));
      }
    }
  }

  async observe(signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    if (this.services.size === 0) return new Map();
    const ids = [...this.services.values()].map((s) => s.id);
    const { body } = await this.api.request<Task[]>('GET', '/tasks', {
      query: { filters: filters({ service: ids }) },
      timeoutMs: 10_000,
      ...(signal ? { signal } : {}),
    });
    const counts = new Map<string, { running: number; starting: number; stopping: number }>();
    const byId = new Map<string, { running: number; starting: number; stopping: number }>();
    for (const [name, s] of this.services) {
      const c = { running: 0, starting: 0, stopping: 0 };
      counts.set(name, c);
      byId.set(s.id, c);
    }
    for (const t of body) {
      const c = byId.get(t.ServiceID);
      const state = t.Status?.State ?? '';
      if (!c) continue;
      if (t.DesiredState === 'running') {
        if (state === 'running') c.running++;
        else if (STARTING.has(state)) c.starting++;
      } else if (state === 'running' || STARTING.has(state)) {
        c.stopping++;
      }
    }
    for (const [name, s] of this.services) {
      const c = counts.get(name);
      if (!c) continue;
      // The orchestrator makes and ends tasks a moment after an update: count the difference as pending.
      const active = c.running + c.starting;
      if (active < s.replicas) c.starting += s.replicas - active;
      else if (active > s.replicas) {
        const surplus = active - s.replicas;
        const fromStarting = Math.min(surplus, c.starting);
        c.starting -= fromStarting;
        c.running -= surplus - fromStarting;
        c.stopping += surplus;
      }
    }
    return counts;
  }

  async scale(service: string, replicas: number, reason: string): Promise<void> {
    if (this.closed) throw new Error('swarm scheduler: closed');
    const s = this.services.get(service);
    if (!s) throw new Error(`swarm scheduler: unknown service "${service}"`);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new RangeError(`swarm scheduler: cannot scale "${service}" to ${replicas} replicas`);
    }
    for (let attempt = 1; ; attempt++) {
      const { body: current } = await this.api
        .request<SwarmService>('GET', `/services/${s.id}`)
        .catch((error: unknown) => Promise.reject(terminal(error)));
      const labels = current.Spec.Labels ?? {};
      if (labels[LABEL_INSTANCE] !== this.ctx.instance || labels[LABEL_SERVICE] !== service) {
        throw new TerminalError(
          `swarm scheduler: Swarm service ${current.Spec.Name} no longer carries our labels; not scaling it`,
        );
      }
      const replicated = current.Spec.Mode?.Replicated;
      if (!replicated)
        throw new Error(`swarm scheduler: Swarm service ${current.Spec.Name} is not replicated`);
      if (replicated.Replicas === replicas) {
        s.replicas = replicas;
        return;
      }
      const spec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
      try {
        await this.api.request('POST', `/services/${s.id}/update`, {
          query: { version: current.Version.Index },
          body: spec,
        });
        s.replicas = replicas;
        this.ctx.logger.log('info', `scaled Swarm service ${s.name} to ${replicas}`, { service, reason });
        return;
      } catch (error) {
        if (outOfSequence(error) && attempt < UPDATE_ATTEMPTS) continue;
        throw terminal(error);
      }
    }
  }

  /** The swarm's ready, active nodes that carry the wanted labels (capacity: { from: scheduler }). */
  resources(signal: AbortSignal, nodes?: Readonly<Record<string, string>>): Promise<ClusterResources> {
    return swarmResources(this.api, nodes, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.api.close();
  }

  /** The Swarm services in use, for tests and status output. */
  list(): { service: string; id: string; name: string; replicas: number; created: boolean }[] {
    return [...this.services].map(([service, s]) => ({ service, ...s }));
  }

  private async createService(
    service: string,
    run: RunSpec,
  ): Promise<{ id: string; name: string; replicas: number; created: boolean }> {
    const name = swarmServiceName(this.ctx.instance, service);
    const labels = { [LABEL_INSTANCE]: this.ctx.instance, [LABEL_SERVICE]: service };
    const resources: Record<string, number> = {};
    if (run.cpu !== undefined) resources.NanoCPUs = Math.round(run.cpu * 1e9);
    if (run.memory !== undefined) resources.MemoryBytes = Math.round(run.memory);
    const spec = {
      Name: name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: run.image,
          // As `docker service create IMAGE CMD...`: the command replaces the image's CMD, not its entrypoint.
          ...(run.command ? { Args: [...run.command] } : {}),
          Env: Object.entries(run.env ?? {}).map(([k, v]) => `${k}=${v}`),
          Labels: labels,
          Init: true,
          StopGracePeriod: (run.stopGraceMs ?? DEFAULT_STOP_GRACE_MS) * 1_000_000,
        },
        Resources: { Limits: resources, Reservations: resources },
        RestartPolicy: { Condition: 'any', Delay: 100_000_000 },
      },
      Mode: { Replicated: { Replicas: 0 } },
    };
    try {
      const { body } = await this.api.request<{ ID: string }>('POST', '/services/create', { body: spec });
      this.ctx.logger.log('info', `created Swarm service ${name} for ${service}`);
      return { id: body.ID, name, replicas: 0, created: true };
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 409) {
        throw new TerminalError(
          `swarm scheduler: a Swarm service named ${name} exists without the labels ${LABEL_INSTANCE}=${this.ctx.instance} and ${LABEL_SERVICE}=${service}; it is not ours, so it is left alone (rename the instance, or label that service to adopt it)`,
        );
      }
      throw new Error(`swarm scheduler: cannot create Swarm service ${name}: ${errorMessage(error)}`);
    }
  }
}

/** 401, 403 and 404 (the Swarm service is gone) do not change by asking again: a TerminalError. */
function terminal(error: unknown): unknown {
  if (error instanceof DockerApiError && [401, 403, 404].includes(error.status)) {
    return new TerminalError(error.message, { cause: error });
  }
  return error;
}

function outOfSequence(error: unknown): boolean {
  return error instanceof DockerApiError && /out of sequence/i.test(error.message);
}
