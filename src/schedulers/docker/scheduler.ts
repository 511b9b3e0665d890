// Replicas as Docker containers, through the Engine API (unix socket, or TCP with TLS): the class that wires the parts.
//
// Ownership: every container carries the labels microscaler.instance and microscaler.service. Only
// containers listed or announced with this instance's label are ever tracked, stopped or removed; names
// mean nothing (a look-alike name without the labels is never touched).
//
// The parts, one job each: state.ts (the replica table, watchers, reachability), events.ts (the event stream
// and the resync when it opens), listing.ts (listings and adoption), lifecycle.ts (create, start, stop,
// remove, the start backoff), pause.ts (pause, unpause, freeze notices), pool.ts (carrying out a pool plan).
// Here: the ports (Scheduler, FreezingScheduler) and each call's plan (../pool-plan.ts). close() leaves
// containers running for the next run to adopt.
import { z } from 'zod';
import { errorMessage } from '../../core/errors.js';
import type { FreezingScheduler, ReplicaPool } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { ClusterResources, Observed } from '../../core/types.js';
import { DockerApi, DockerUnreachableError } from '../../infra/docker-api.js';
import { requireImages } from '../docker-labels.js';
import { FreezeNotices } from '../freeze-notify.js';
import { engineResources } from '../node-resources.js';
import { planPool } from '../pool-plan.js';
import { countReplicas } from '../replica-counts.js';
import { EngineEvents } from './events.js';
import { Images } from './images.js';
import { Lifecycle } from './lifecycle.js';
import { Listing } from './listing.js';
import { Pauses } from './pause.js';
import { carryOutPlan, type PoolParts } from './pool.js';
import { type ContainerInfo, counted } from './replica.js';
import { DockerState } from './state.js';

export { LABEL_INSTANCE, LABEL_SERVICE } from '../docker-labels.js';
export type { ContainerInfo, ContainerState } from './replica.js';

export const dockerSettingsSchema = z.strictObject({
  /** The engine, as DOCKER_HOST would say it; DOCKER_HOST (and the local socket) otherwise. */
  host: z.string().min(1).optional(),
  /** Creates (and, separately, stops) in flight at once. */
  concurrency: z.int().min(1).max(64).default(8),
  /** HostConfig.NetworkMode for every replica (e.g. `none`, or a user network); the engine's default otherwise. */
  network: z.string().min(1).optional(),
});
export type DockerSettings = z.output<typeof dockerSettingsSchema>;

const FIRST_SYNC_TIMEOUT_MS = 30_000;

export interface DockerDeps {
  /** A ready client (tests); otherwise one is made from settings.host or the environment. */
  readonly api?: DockerApi;
  readonly env?: NodeJS.ProcessEnv;
}

export class DockerScheduler implements FreezingScheduler {
  readonly api: DockerApi;
  readonly images: Images;
  private readonly ctx: SchedulerContext;
  private readonly state: DockerState;
  private readonly lifecycle: Lifecycle;
  /** Replicas told of a freeze and in their grace (freeze-notify.ts). */
  private readonly notices: FreezeNotices;
  private readonly pauses: Pauses;
  /** What a pool plan is carried out with (pool.ts). */
  private readonly pool: PoolParts;
  private readonly events: EngineEvents;
  private ready: Promise<void> | undefined;
  private following: Promise<void> | undefined;

  /** Connects, adopts what runs, and makes every image ready before returning. */
  static async create(settings: DockerSettings, ctx: SchedulerContext, deps: DockerDeps = {}) {
    const scheduler = new DockerScheduler(settings, ctx, deps);
    try {
      await scheduler.init();
      await scheduler.images.prepare();
    } catch (error) {
      await scheduler.close();
      throw error;
    }
    return scheduler;
  }

  constructor(settings: DockerSettings, ctx: SchedulerContext, deps: DockerDeps = {}) {
    requireImages(ctx, 'docker');
    this.ctx = ctx;
    this.api = deps.api ?? DockerApi.fromEnv(deps.env ?? process.env, settings.host);
    this.state = new DockerState(ctx, this.api);
    this.notices = new FreezeNotices(ctx.clock, ctx.logger);
    this.images = new Images(
      this.api,
      ctx.logger,
      ctx.services.map((s) => ({
        service: s.name,
        image: s.run.image as string,
        pull: s.run.pull ?? 'missing',
      })),
      () => ctx.clock.now(),
    );
    this.lifecycle = new Lifecycle(this.state, settings, {
      images: this.images,
      notices: this.notices,
      warmed: (r) => this.pauses.warmed(r),
    });
    this.pauses = new Pauses(this.state, settings.concurrency, this.notices, (r, now) =>
      this.lifecycle.stop(r, now),
    );
    this.pool = { state: this.state, lifecycle: this.lifecycle, pauses: this.pauses };
    const listing = new Listing(this.state, {
      stop: (r, now) => this.lifecycle.stop(r, now),
      exited: (r, code) => this.lifecycle.exited(r, code),
      pausedFromOutside: (r, paused) => this.pauses.pausedFromOutside(r, paused),
    });
    this.events = new EngineEvents(this.state, listing, {
      exited: (r, code) => this.lifecycle.exited(r, code),
      recheckPaused: (r) => this.pauses.recheckPaused(r),
    });
  }

  /** Negotiates the API version, opens the event stream and adopts labelled containers. Idempotent. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      try {
        await this.api.apiVersion(AbortSignal.timeout(10_000));
      } catch (error) {
        throw new Error(`docker scheduler: ${errorMessage(error)}`);
      }
      const synced = this.state.nextSync();
      this.following = this.events.follow();
      const timer = new AbortController();
      const timeout = this.ctx.clock.sleep(FIRST_SYNC_TIMEOUT_MS, timer.signal).then(() => {
        if (timer.signal.aborted) return;
        throw new Error(`docker scheduler: could not list containers: ${this.state.down?.error ?? 'closed'}`);
      });
      try {
        await Promise.race([synced, timeout]);
      } finally {
        timer.abort();
      }
    })();
    return this.ready;
  }

  async observe(_signal?: AbortSignal): Promise<ReadonlyMap<string, Observed>> {
    await this.init();
    if (this.state.down) {
      throw new DockerUnreachableError(
        `docker engine unreachable since ${new Date(this.state.down.since).toISOString()}: ${this.state.down.error}`,
      );
    }
    return countReplicas(
      this.ctx.services.map((s) => s.name),
      this.state.each(),
      (r) => ({
        service: r.service,
        as: counted(r),
        noticed: r.state === 'warming' && this.notices.inGrace(r.name),
      }),
      'always',
    );
  }

  /** Converges to `replicas` active replicas (running and starting); frozen replicas are left as they are. */
  scale(service: string, replicas: number, reason: string): Promise<void> {
    return this.converge(service, replicas, reason, undefined);
  }

  /** Converges to `replicas` active replicas and `frozen` frozen ones (the FreezingScheduler port says how). */
  scaleWithPool(service: string, { replicas, frozen }: ReplicaPool, reason: string): Promise<void> {
    return this.converge(service, replicas, reason, frozen);
  }

  private async converge(
    service: string,
    replicas: number,
    reason: string,
    frozen: number | undefined,
  ): Promise<void> {
    if (this.state.closed) throw new Error('docker scheduler: closed');
    const run = this.state.runs.get(service);
    if (!run) {
      // A service no longer in the config can only be stopped (its containers were adopted to be counted).
      const removed = [...this.state.each()].some((r) => r.service === service);
      if (replicas !== 0 || !removed) throw new Error(`docker scheduler: unknown service "${service}"`);
      return this.stopRemoved(service, reason);
    }
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new RangeError(`docker scheduler: cannot scale "${service}" to ${replicas} replicas`);
    }
    if (frozen !== undefined && (!Number.isInteger(frozen) || frozen < 0)) {
      throw new RangeError(`docker scheduler: cannot keep ${frozen} frozen replicas of "${service}"`);
    }
    await this.init();
    // Newest first: surplus is taken from the front.
    const mine = [...this.state.each()]
      .filter((r) => r.service === service && r.state !== 'stopping')
      .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
    const plan = planPool(mine, replicas, frozen, { noticed: (r) => this.notices.inGrace(r.name) });
    if (frozen !== undefined) return carryOutPlan(this.pool, service, run, plan, reason);
    if (plan.stop.length > 0) {
      this.ctx.logger.log('info', `stopping ${plan.stop.length} container(s) of ${service}`, {
        service,
        reason,
      });
      for (const r of plan.stop) this.lifecycle.stop(r);
      this.state.notify(service);
      return;
    }
    if (plan.cold > 0) this.lifecycle.launch(service, run, plan.cold, 'starting', reason);
  }

  /** Stops every container of a service the config no longer has, oldest first (frozen ones as they are). */
  private stopRemoved(service: string, reason: string): void {
    const all = [...this.state.each()]
      .filter((r) => r.service === service && r.state !== 'stopping')
      .sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
    this.ctx.logger.log('info', `stopping ${all.length} container(s) of ${service}`, { service, reason });
    for (const r of all) this.lifecycle.stop(r);
    this.state.notify(service);
  }

  watch(onChange: (service: string) => void): () => void {
    return this.state.watch(onChange);
  }

  /** What this engine's machine offers (capacity: { from: scheduler }). */
  resources(signal: AbortSignal): Promise<ClusterResources> {
    return engineResources(this.api, signal);
  }

  /** Stops following events. Containers keep running, for the next run to adopt. */
  async close(): Promise<void> {
    if (this.state.closed) return;
    this.state.close();
    // A container in its freeze notice's grace is left running for the next run: told to go on, not paused.
    await this.pauses.resumeNoticed();
    // Let calls in flight finish, so no container is left half-made (it would be adopted anyway).
    const work = Promise.allSettled([...this.state.each()].map((r) => r.work));
    await Promise.race([work, new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.following?.catch(() => {});
    this.api.close();
  }

  /**
   * From now on removals kill at once (no graceful stop), and containers whose graceful stop is under way
   * get a kill now, which ends that stop early.
   */
  hurry(): void {
    this.lifecycle.hurry();
  }

  /** Stops and removes every container this instance owns; resolves once they are gone. */
  async stopAll(): Promise<void> {
    await this.init();
    const all = [...this.state.each()];
    for (const r of all) this.lifecycle.stop(r);
    await Promise.all(all.map((r) => r.work));
  }

  /** The containers this instance owns (for status output and tests). */
  list(): ContainerInfo[] {
    return [...this.state.each()].map((r) => ({
      name: r.name,
      id: r.id,
      service: r.service,
      state: r.state,
      adopted: r.adopted,
      paused: r.paused,
    }));
  }

  /** Whether the engine is reachable and our view of it is current. */
  get connected(): boolean {
    return this.state.down === undefined;
  }
}
