// Replicas as Docker containers, through the Engine API (unix socket, or TCP with TLS).
//
// Ownership: every container carries the labels microscaler.instance and microscaler.service. Only
// containers listed or announced with this instance's label are ever tracked, stopped or removed; names
// mean nothing (a look-alike name without the labels is never touched).
//
// State comes from the engine's /events stream, so a container that exits or is removed behind our back is
// seen at once; the stream is opened before the containers are listed, so nothing falls between the two.
// When the stream breaks (engine restarting, socket gone), observe() fails with the reason until the stream
// is back and a fresh listing has been reconciled with what we track.
//
// Creates, starts, stops and removals, and how each counts meanwhile: lifecycle.ts. close() leaves
// containers running for the next run to adopt.
//
// Freezing (scaleWithPool, the FreezingScheduler port): a frozen replica is a paused container (the cgroup freezer):
// it keeps its memory and its work, and gets no CPU. It counts as `frozen` (also while it is being removed,
// which is `DELETE ?force=true` without unpausing it), never as running. A replica being started to join
// the warm pool counts as `warming` until it is paused. A pause in flight still counts as running; an
// unpause in flight counts as starting: capacity is never under-counted. Pauses and unpauses run in
// parallel, at most `concurrency` at once. A listing adopts paused containers as frozen, never unpausing them.
import { z } from 'zod';
import { errorMessage } from '../../core/errors.js';
import type { FreezingScheduler, ReplicaPool } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { FreezeNotice, Observed, RunSpec } from '../../core/types.js';
import { DockerApi, DockerApiError, DockerUnreachableError, filters } from '../../infra/docker-api.js';
import { LABEL_INSTANCE, LABEL_SERVICE, requireImages } from '../docker-labels.js';
import { FreezeNotices, type NoticeTarget } from '../freeze-notify.js';
import { Limiter } from '../limiter.js';
import { type PoolPlan, planPool } from '../pool-plan.js';
import { countReplicas } from '../replica-counts.js';
import { Images } from './images.js';
import { Lifecycle } from './lifecycle.js';
import {
  type ContainerInfo,
  type ContainerSummary,
  counted,
  type EngineEvent,
  isStarting,
  isWarming,
  type Replica,
} from './replica.js';
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
  private readonly pauses: Limiter;
  /** Replicas told of a freeze and in their grace (freeze-notify.ts). */
  private readonly notices: FreezeNotices;
  private readonly warned = new Set<string>();
  private relisting = false;
  private ready: Promise<void> | undefined;
  private events: Promise<void> | undefined;

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
    this.pauses = new Limiter(settings.concurrency);
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
      warmed: (r) => this.warmed(r),
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
      this.events = this.followEvents();
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
    if (frozen !== undefined) return this.scaleFrozen(service, run, plan, reason);
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

  /** Carries out a pool plan (pool-plan.ts): thaws and freezes awaited, surplus stopped in the background. */
  private async scaleFrozen(
    service: string,
    run: RunSpec,
    plan: PoolPlan<Replica>,
    reason: string,
  ): Promise<void> {
    const acts = {
      thaw: plan.thaw.length,
      freeze: plan.freeze.length,
      stop: plan.stop.length,
      remove: plan.remove.length,
    };
    const changes = plan.keep.length + plan.takeOver.length + plan.cold + plan.warm;
    if (this.state.down && acts.thaw + acts.freeze + acts.stop + acts.remove + changes > 0) {
      throw new DockerUnreachableError(`docker engine unreachable: ${this.state.down.error}`);
    }
    // Thaws and freezes, awaited; each says whether the replica is still there.
    const waits: Promise<boolean>[] = [];
    const removals: Promise<void>[] = [];
    // Containers still in a freeze notice's grace first: they run, and are simply not paused.
    for (const r of plan.keep) this.adoptWarming(r);
    for (const r of plan.thaw) waits.push(this.thaw(r));
    for (const r of plan.takeOver) this.adoptWarming(r);
    for (const r of plan.freeze) {
      if (r.state === 'running') waits.push(this.freeze(r));
      else r.state = r.paused ? 'frozen' : 'warming'; // still being made (or thawed): paused once it runs
    }
    for (const r of plan.stop) this.lifecycle.stop(r);
    for (const r of plan.remove) {
      const paused = r.state === 'frozen';
      this.lifecycle.stop(r);
      // A frozen one counts as frozen until gone; the call resolves once it is (a forced removal is quick),
      // so that no later call takes it for one that can still be thawed.
      if (paused) removals.push(r.work);
    }
    if (acts.thaw + acts.freeze + acts.stop + acts.remove > 0) {
      const what = Object.entries(acts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      this.ctx.logger.log('info', `${service}: ${what}`, { service, reason });
      this.state.notify(service);
    }
    let refused: unknown;
    try {
      if (plan.cold > 0) this.lifecycle.launch(service, run, plan.cold, 'starting', reason);
      if (plan.warm > 0) this.lifecycle.launch(service, run, plan.warm, 'warming', reason);
    } catch (error) {
      refused = error;
    }
    const [thawed] = await Promise.all([Promise.all(waits), Promise.all(removals)]);
    const lost = thawed.filter((ok) => !ok).length;
    // A frozen replica that could not be thawed (killed while frozen): start another in its place.
    if (lost > 0 && refused === undefined) {
      try {
        this.lifecycle.launch(
          service,
          run,
          lost,
          'starting',
          `${reason} (replacing ${lost} lost frozen replica(s))`,
        );
      } catch (error) {
        refused = error;
      }
    }
    if (refused !== undefined) throw refused;
  }

  /** Pauses a running replica now (it counts as running until the pause returns). False if it is gone. */
  private freeze(r: Replica): Promise<boolean> {
    const notice = this.state.runs.get(r.service)?.freezeNotice;
    if (notice) {
      // Told first, paused after its grace, in the background: it counts as warming (all of its capacity)
      // meanwhile, and a scale-up can take it back (adoptWarming). Not awaited by the scale call.
      r.state = 'warming';
      r.work = r.work.then(() => this.noticeThenPause(r, notice, false));
      return Promise.resolve(true);
    }
    r.state = 'frozen';
    const done = r.work.then(() => this.pauses.run(() => this.pause(r)));
    r.work = done.then(() => {});
    return done;
  }

  /** Unpauses a frozen replica now (it counts as starting until then). False if it is gone. */
  private thaw(r: Replica): Promise<boolean> {
    r.state = 'starting';
    const done = r.work.then(() => this.pauses.run(() => this.unpause(r)));
    r.work = done.then(() => {});
    const notice = this.state.runs.get(r.service)?.freezeNotice;
    if (!notice) return done;
    // The cgroup freezer tells the process nothing: a notice's replica hears of its thaw from us.
    return done.then((ok) => {
      if (ok && r.state === 'running') void this.notices.resume(notice, this.noticeTarget(r));
      return ok;
    });
  }

  /** A replica started to join the warm pool runs (lifecycle.ts): paused, after its notice if it has one. */
  private async warmed(r: Replica): Promise<void> {
    const notice = this.state.runs.get(r.service)?.freezeNotice;
    if (notice) return this.noticeThenPause(r, notice, true);
    await this.pauses.run(() => this.pause(r));
  }

  /** After the notice's grace: paused if still meant to be frozen; running on if a scale-up took it back. */
  private async noticeThenPause(r: Replica, notice: FreezeNotice, fresh: boolean): Promise<void> {
    if (!isWarming(r) || r.id === undefined) return;
    if ((await this.notices.before(notice, this.noticeTarget(r), fresh)) && isWarming(r)) {
      await this.pauses.run(() => this.pause(r));
    } else if (isStarting(r) && !r.paused) {
      r.state = 'running'; // taken back before its notice went out
      this.state.notify(r.service);
    }
  }

  /** What a freeze notice needs of a container: its signal goes to the main process. */
  private noticeTarget(r: Replica): NoticeTarget {
    return {
      service: r.service,
      replica: r.name,
      signal: async (name) => {
        if (r.id === undefined) return;
        await this.api.request('POST', `/containers/${r.id}/kill`, {
          query: { signal: name },
          timeoutMs: 10_000,
        });
      },
    };
  }

  /** A warming replica becomes active: it runs once started (unpaused if its pause came first). */
  private adoptWarming(r: Replica): void {
    const notice = this.state.runs.get(r.service)?.freezeNotice;
    if (notice && this.notices.cancel(r.name)) {
      // In its grace: never paused, so it simply runs on, told so.
      r.state = 'running';
      void this.notices.resume(notice, this.noticeTarget(r));
      return;
    }
    r.state = 'starting';
    r.work = r.work.then(async () => {
      if (r.paused) await this.pauses.run(() => this.unpause(r));
    });
  }

  private async pause(r: Replica): Promise<boolean> {
    if (!this.state.tracks(r) || r.id === undefined) return false;
    if (r.state !== 'frozen' && r.state !== 'warming') return r.state !== 'stopping'; // changed our mind
    if (!r.paused) {
      r.freezeOps++;
      try {
        await this.api.request('POST', `/containers/${r.id}/pause`, { timeoutMs: 30_000 });
      } catch (error) {
        if (!(error instanceof DockerApiError && /already paused/i.test(error.message))) {
          return this.freezeFailed(r, 'pause', error);
        }
      } finally {
        r.freezeOps--;
      }
      r.paused = true;
      r.frozenAt = this.ctx.clock.now();
    }
    if (isWarming(r)) r.state = 'frozen';
    this.state.notify(r.service);
    return true;
  }

  private async unpause(r: Replica): Promise<boolean> {
    if (!this.state.tracks(r) || r.id === undefined || r.state === 'stopping') return false;
    if (r.state !== 'starting') {
      // Chosen to freeze again before this thaw's turn came: it stays paused.
      if (r.state === 'warming' && r.paused) {
        r.state = 'frozen';
        this.state.notify(r.service);
      }
      return true;
    }
    if (r.paused) {
      r.freezeOps++;
      try {
        await this.api.request('POST', `/containers/${r.id}/unpause`, { timeoutMs: 30_000 });
      } catch (error) {
        if (!(error instanceof DockerApiError && /not paused/i.test(error.message))) {
          return this.freezeFailed(r, 'unpause', error);
        }
      } finally {
        r.freezeOps--;
      }
      r.paused = false;
      r.frozenAt = this.ctx.clock.now();
    }
    if (isStarting(r)) {
      r.state = 'running';
      this.state.notify(r.service);
    }
    return true;
  }

  /**
   * A pause or unpause failed. Engine unreachable: the replica stays as it was (the next tick asks again).
   * Otherwise it is gone or dead (404, 409 not running): it is removed, and replaced if it was wanted.
   */
  private freezeFailed(r: Replica, what: string, error: unknown): false {
    this.ctx.logger.log('warn', `cannot ${what} container ${r.name}: ${errorMessage(error)}`, {
      service: r.service,
    });
    if (this.state.tracks(r) && r.state !== 'stopping') {
      if (error instanceof DockerUnreachableError) r.state = r.paused ? 'frozen' : 'running';
      else this.lifecycle.stop(r, true);
      this.state.notify(r.service);
    }
    return false;
  }

  watch(onChange: (service: string) => void): () => void {
    return this.state.watch(onChange);
  }

  /** Stops following events. Containers keep running, for the next run to adopt. */
  async close(): Promise<void> {
    if (this.state.closed) return;
    this.state.close();
    // A container in its freeze notice's grace is left running for the next run: told to go on, not paused.
    const resumed: Promise<void>[] = [];
    for (const r of this.state.each()) {
      const notice = this.state.runs.get(r.service)?.freezeNotice;
      if (notice && r.state === 'warming' && this.notices.cancel(r.name)) {
        r.state = 'running';
        resumed.push(this.notices.resume(notice, this.noticeTarget(r)));
      }
    }
    await Promise.all(resumed);
    // Let calls in flight finish, so no container is left half-made (it would be adopted anyway).
    const work = Promise.allSettled([...this.state.each()].map((r) => r.work));
    await Promise.race([work, new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.events?.catch(() => {});
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

  /** Follows /events for this instance's containers, reconnecting with backoff until closed. */
  private async followEvents(): Promise<void> {
    let delay = 100;
    while (!this.state.closed) {
      const attempt = new AbortController();
      const onClose = () => attempt.abort();
      this.state.signal.addEventListener('abort', onClose);
      try {
        await this.api.stream('GET', '/events', (v) => this.onEvent(v as EngineEvent), {
          query: {
            filters: filters({ type: ['container'], label: [`${LABEL_INSTANCE}=${this.ctx.instance}`] }),
          },
          signal: attempt.signal,
          onOpen: () => {
            delay = 100;
            void this.resync(attempt);
          },
        });
        throw new DockerUnreachableError('the engine ended the event stream');
      } catch (error) {
        if (this.state.closed) return;
        this.state.setDown(errorMessage(error));
      } finally {
        this.state.signal.removeEventListener('abort', onClose);
        attempt.abort();
      }
      await this.ctx.clock.sleep(delay, this.state.signal);
      delay = Math.min(delay * 2, 2000);
    }
  }

  /** After the stream opens: list, reconcile, and only then say we are connected. */
  private async resync(stream: AbortController): Promise<void> {
    try {
      await this.sync(stream.signal);
    } catch (error) {
      if (stream.signal.aborted) return;
      this.state.setDown(`cannot list containers: ${errorMessage(error)}`);
      stream.abort(); // the event loop reconnects and lists again
      return;
    }
    if (stream.signal.aborted) return;
    this.state.setUp();
  }

  /** Reconciles what we track with the engine's own list of this instance's containers. */
  private async sync(signal: AbortSignal): Promise<void> {
    const started = this.ctx.clock.now();
    const { body } = await this.api.request<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: true, filters: filters({ label: [`${LABEL_INSTANCE}=${this.ctx.instance}`] }) },
      signal,
    });
    const seen = new Set<Replica>();
    let adopted = 0;
    let adoptedFrozen = 0;
    for (const c of body) {
      const labels = c.Labels ?? {};
      if (labels[LABEL_INSTANCE] !== this.ctx.instance) continue; // the filter did this; a second look costs nothing
      const service = labels[LABEL_SERVICE] ?? '';
      const name = (c.Names?.[0] ?? c.Id).replace(/^\//, '');
      if (!this.state.runs.has(service) && !this.warned.has(c.Id)) {
        // Ours, of a service the config no longer has: adopted, so that it counts against capacity; the
        // controller stops it, or keeps it running with `run --keep-removed`.
        this.warned.add(c.Id);
        this.ctx.logger.log(
          'info',
          `container ${name} of service "${service}", which is not in the config, adopted`,
        );
      }
      const paused = c.State === 'paused';
      const alive = c.State === 'running' || c.State === 'restarting' || paused;
      let r = this.state.byId(c.Id) ?? this.state.byName(name);
      if (!r) {
        const createdAt = (c.Created ?? 0) * 1000;
        r = this.state.track({
          name,
          id: c.Id,
          service,
          // A paused one is adopted frozen, as it is: never unpaused by being found.
          state: paused ? 'frozen' : alive ? 'running' : 'stopping',
          createdAt,
          adopted: true,
        });
        r.paused = paused;
        r.startedAt = createdAt;
        if (paused) adoptedFrozen++;
        else if (alive) adopted++;
        else this.lifecycle.stop(r); // ours, and no longer running: it only holds capacity
        this.state.notify(service);
      } else {
        if (r.id === undefined) this.state.setId(r, c.Id);
        const settled = !r.busy && r.freezeOps === 0 && r.frozenAt < started;
        if (!alive && (r.state === 'running' || r.state === 'frozen') && settled)
          this.lifecycle.exited(r, undefined);
        else if (alive && settled && r.paused !== paused) this.pausedBehindOurBack(r, paused);
      }
      seen.add(r);
    }
    for (const r of [...this.state.each()]) {
      // Gone while we could not see: known before this listing started, and not in it.
      if (!seen.has(r) && r.id !== undefined && r.knownAt < started && !r.busy) this.state.drop(r);
    }
    for (const r of this.state.each()) {
      if (r.state === 'stopping' && !r.stopQueued) this.lifecycle.stop(r, true);
    }
    if (adopted > 0) this.ctx.logger.log('info', `adopted ${adopted} running container(s)`);
    if (adoptedFrozen > 0)
      this.ctx.logger.log('info', `adopted ${adoptedFrozen} frozen (paused) container(s)`);
  }

  /** One extra listing soon (coalesced), while the stream is up; a broken stream lists again anyway. */
  private relist(): void {
    if (this.relisting || this.state.closed) return;
    this.relisting = true;
    setTimeout(() => {
      this.relisting = false;
      if (this.state.closed || this.state.down) return;
      this.sync(this.state.signal).catch((error: unknown) => {
        this.ctx.logger.log('warn', `cannot list containers: ${errorMessage(error)}`);
      });
    }, 20).unref();
  }

  private onEvent(e: EngineEvent): void {
    if (e.Type !== undefined && e.Type !== 'container') return;
    const attributes = e.Actor?.Attributes ?? {};
    if (attributes[LABEL_INSTANCE] !== this.ctx.instance) return;
    const id = e.Actor?.ID ?? e.id ?? '';
    const r = this.state.byId(id) ?? (attributes.name ? this.state.byName(attributes.name) : undefined);
    if (!r) {
      // A labelled container we did not make or list: made by a microscaler that died with its create or
      // start in flight (the engine finishes those), or by another instance sharing the name. List again
      // at once to adopt it (or remove it, if it never started), so it neither runs nor sits untracked.
      if (e.Action === 'create' || e.Action === 'start') this.relist();
      return;
    }
    if (r.id === undefined && id !== '') this.state.setId(r, id);
    switch (e.Action) {
      case 'start':
        if (r.state === 'starting') {
          r.state = 'running';
          r.startedAt = this.ctx.clock.now();
          this.state.notify(r.service);
        }
        break;
      case 'die':
        r.paused = false; // a dead container is not frozen: it holds capacity as stopping until removed
        if (r.state !== 'stopping') this.lifecycle.exited(r, attributes.exitCode);
        else this.state.notify(r.service);
        break;
      case 'pause':
      case 'unpause': {
        // Ours (in flight, or what we already believe) say nothing new. Otherwise it is someone's
        // `docker pause`/`unpause`, or a late event of ours: ask the engine which.
        const paused = e.Action === 'pause';
        if (r.busy || r.freezeOps > 0 || r.paused === paused) break;
        void this.recheckPaused(r);
        break;
      }
      case 'destroy':
        this.state.drop(r);
        break;
    }
  }

  /** Asks the engine whether a container is paused, and takes its word unless we acted on it meanwhile. */
  private async recheckPaused(r: Replica): Promise<void> {
    const asked = this.ctx.clock.now();
    try {
      const { body } = await this.api.request<{ State?: { Running?: boolean; Paused?: boolean } }>(
        'GET',
        `/containers/${r.id}/json`,
        { signal: this.state.signal, timeoutMs: 10_000 },
      );
      const settled = !r.busy && r.freezeOps === 0 && r.frozenAt < asked;
      const paused = body.State?.Paused === true;
      if (body.State?.Running && settled && r.paused !== paused) this.pausedBehindOurBack(r, paused);
    } catch {
      // gone (its destroy event drops it) or the engine is away (the next listing reconciles)
    }
  }

  /** Someone else paused or unpaused one of ours: report it as it is (frozen, or running again). */
  private pausedBehindOurBack(r: Replica, paused: boolean): void {
    if (!this.state.tracks(r)) return;
    r.paused = paused;
    if (paused && r.state === 'running') r.state = 'frozen';
    else if (!paused && r.state === 'frozen') r.state = 'running';
    this.ctx.logger.log(
      'info',
      `container ${r.name} of ${r.service} was ${paused ? 'paused' : 'unpaused'} from outside`,
      {
        service: r.service,
      },
    );
    this.state.notify(r.service);
  }
}
