// A container's life on the docker back-end: create and start, stop and remove, and the backoff after failed starts.
//
// A replica counts as starting from the moment it is accepted until its start call returns, and as stopping
// from the moment it is chosen to stop (or is found dead) until it has been removed: a container that still
// exists still occupies capacity. Creates and starts run in parallel, at most `concurrency` at once; so do
// stops. One started to join the warm pool is handed to `warmed` (pause.ts) once it runs.
import { errorMessage, TerminalError } from '../../core/errors.js';
import { DEFAULT_STOP_GRACE_MS, type RunSpec } from '../../core/types.js';
import { DockerApiError, DockerUnreachableError } from '../../infra/docker-api.js';
import { LABEL_INSTANCE, LABEL_SERVICE } from '../docker-labels.js';
import type { FreezeNotices } from '../freeze-notify.js';
import { Limiter } from '../limiter.js';
import type { Images } from './images.js';
import { containerName, type Failure, isStopping, type Replica } from './replica.js';
import type { DockerState } from './state.js';

/** A replica that dies sooner than this after starting counts as a failed start (crash loop backoff). */
const CRASH_WINDOW_MS = 1000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;

export interface LifecycleSettings {
  readonly concurrency: number;
  /** HostConfig.NetworkMode for every replica; the engine's default otherwise. */
  readonly network?: string | undefined;
}

export interface LifecycleParts {
  readonly images: Images;
  /** Only to call off a freeze notice's grace when its replica is stopped. */
  readonly notices: FreezeNotices;
  /** A replica started to join the warm pool now runs: freeze it (resolves once that is done or called off). */
  readonly warmed: (r: Replica) => Promise<void>;
}

export class Lifecycle {
  private readonly starts: Limiter;
  private readonly stops: Limiter;
  private readonly failures = new Map<string, Failure>();
  /** Set by hurry(): removals skip the graceful stop. */
  private hurried = false;

  constructor(
    private readonly state: DockerState,
    private readonly settings: LifecycleSettings,
    private readonly parts: LifecycleParts,
  ) {
    this.starts = new Limiter(settings.concurrency);
    this.stops = new Limiter(settings.concurrency);
  }

  /** Accepts `count` new containers, in parallel within the start limit: active, or warming (to be paused). */
  launch(service: string, run: RunSpec, count: number, state: 'starting' | 'warming', reason: string): void {
    const { ctx, down } = this.state;
    if (down) throw new DockerUnreachableError(`docker engine unreachable: ${down.error}`);
    const now = ctx.clock.now();
    const failure = this.failures.get(service);
    if (failure?.terminal) {
      // Said once: the controller holds the service until something changes, then this tries again.
      failure.terminal = false;
      throw new TerminalError(failure.error);
    }
    if (failure && now < failure.retryAt) {
      throw new Error(
        `${failure.error} (${failure.count} time(s) in a row; next attempt in ${failure.retryAt - now}ms)`,
      );
    }
    this.parts.images.ready(service);
    const what = state === 'warming' ? 'to freeze (warm pool)' : '';
    ctx.logger.log('info', `starting ${count} container(s) of ${service}${what ? ` ${what}` : ''}`, {
      service,
      reason,
    });
    for (let i = 0; i < count; i++) {
      const r = this.state.track({
        name: containerName(ctx.instance, service),
        id: undefined,
        service,
        state,
        createdAt: now,
        adopted: false,
      });
      r.busy = true;
      r.work = this.start(r, run);
    }
    this.state.notify(service);
  }

  /** Marks a replica stopping and queues its stop and removal after whatever runs on it now. */
  stop(r: Replica, now = false): void {
    if (!this.state.tracks(r)) return;
    this.parts.notices.cancel(r.name); // a freeze in its grace: the removal need not wait for it
    r.state = 'stopping';
    if (r.stopQueued) return;
    r.stopQueued = true;
    const removal = () =>
      this.stops
        .run(() => this.remove(r))
        .catch((error: unknown) => {
          // Left stopping (it still holds capacity); the next listing after the engine is back tries again.
          r.stopQueued = false;
          this.state.ctx.logger.log('warn', `cannot stop container ${r.name}: ${errorMessage(error)}`, {
            service: r.service,
          });
        });
    r.work = now ? removal() : r.work.then(removal);
  }

  /** A container died that we did not stop: remove it (it holds capacity until then) so it is replaced. */
  exited(r: Replica, exitCode: string | undefined): void {
    const now = this.state.ctx.clock.now();
    const ran = r.startedAt === undefined ? 0 : now - r.startedAt;
    const code = exitCode === undefined ? '' : ` with code ${exitCode}`;
    this.state.ctx.logger.log(
      'warn',
      `container ${r.name} of ${r.service} exited${code} after ${ran}ms; replacing it`,
      {
        service: r.service,
      },
    );
    // A frozen one killed from outside says nothing about how the service starts.
    if (r.state === 'frozen') {
      // nothing to learn
    } else if (ran < CRASH_WINDOW_MS)
      this.fail(r.service, `containers of ${r.service} exit right after starting${code}`);
    else this.failures.delete(r.service);
    this.stop(r);
    this.state.notify(r.service);
  }

  /**
   * From now on removals kill at once (no graceful stop), and containers whose graceful stop is under way
   * get a kill now, which ends that stop early.
   */
  hurry(): void {
    this.hurried = true;
    for (const r of this.state.each()) {
      if (r.state !== 'stopping' || r.id === undefined || r.paused) continue;
      this.state.api.request('POST', `/containers/${r.id}/kill`, { timeoutMs: 10_000 }).catch(() => {
        // not running any more (409), gone (404): the removal under way sees to the rest
      });
    }
  }

  /** Create, then start, within the start limit. A failure removes what was made and holds back the service. */
  private async start(r: Replica, run: RunSpec): Promise<void> {
    const { api, ctx } = this.state;
    try {
      await this.starts.run(async () => {
        if (r.state === 'stopping') return; // stopped before its turn came
        const { body } = await api.request<{ Id: string }>('POST', '/containers/create', {
          query: { name: r.name },
          body: this.containerSpec(r.service, run),
          timeoutMs: 60_000,
        });
        this.state.setId(r, body.Id);
        if (isStopping(r)) return; // chosen to stop while it was being created
        await api.request('POST', `/containers/${body.Id}/start`, { timeoutMs: 60_000 });
        if (r.state === 'starting') {
          r.state = 'running';
          r.startedAt = ctx.clock.now();
          this.state.notify(r.service);
        }
      });
    } catch (error) {
      const message = `cannot start a container of ${r.service} (image ${run.image}): ${errorMessage(error)}`;
      ctx.logger.log('warn', message, { service: r.service, container: r.name });
      this.fail(
        r.service,
        message,
        error instanceof DockerApiError && [401, 403, 404].includes(error.status),
      );
      r.busy = false;
      this.stop(r, true);
      return;
    }
    r.busy = false;
    if (r.state === 'warming') {
      r.startedAt = ctx.clock.now();
      await this.parts.warmed(r);
    }
  }

  private async remove(r: Replica): Promise<void> {
    const id = r.id;
    if (!this.state.tracks(r)) return;
    if (id === undefined) {
      // Never created, or its create failed: a listing will find it if the engine made it after all.
      this.state.drop(r);
      return;
    }
    const graceMs = this.state.runs.get(r.service)?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    const t = Math.ceil(graceMs / 1000);
    // A paused container is removed as it is (SIGKILL through the freezer): a graceful stop would thaw it.
    if (!r.paused && !this.hurried) {
      try {
        await this.state.api.request('POST', `/containers/${id}/stop`, {
          query: { t },
          timeoutMs: graceMs + 30_000,
        });
      } catch (error) {
        if (!(error instanceof DockerApiError && error.status === 404)) throw error;
      }
    }
    try {
      await this.state.api.request('DELETE', `/containers/${id}`, { query: { force: true, v: true } });
    } catch (error) {
      if (!(error instanceof DockerApiError && (error.status === 404 || error.status === 409))) throw error;
      // 409: a removal is already in progress (someone else's); its destroy event drops it.
      if (error.status === 409) return;
    }
    this.state.drop(r);
  }

  private fail(service: string, error: string, terminal = false): void {
    const now = this.state.ctx.clock.now();
    const previous = this.failures.get(service);
    // A failure long after the last one starts a new series.
    const count = previous && now - previous.at < 60_000 ? previous.count + 1 : 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (count - 1));
    this.failures.set(service, {
      count,
      at: now,
      retryAt: now + delay,
      error,
      ...(terminal ? { terminal } : {}),
    });
  }

  private containerSpec(service: string, run: RunSpec): Record<string, unknown> {
    const graceMs = run.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    const host: Record<string, unknown> = { Init: true };
    if (run.cpu !== undefined) host.NanoCpus = Math.round(run.cpu * 1e9);
    if (run.memory !== undefined) host.Memory = Math.round(run.memory);
    if (this.settings.network !== undefined) host.NetworkMode = this.settings.network;
    return {
      Image: run.image,
      ...(run.command ? { Cmd: [...run.command] } : {}),
      Env: Object.entries(run.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABEL_INSTANCE]: this.state.ctx.instance, [LABEL_SERVICE]: service },
      StopTimeout: Math.ceil(graceMs / 1000),
      HostConfig: host,
    };
  }
}
