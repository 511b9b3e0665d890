// The docker back-end's listings: this instance's labelled containers, reconciled with the replica table; what is found is adopted.
//
// Only containers listed with this instance's label are ever tracked; names mean nothing (a look-alike name
// without the labels is never touched). A listing adopts running containers as running and paused ones as
// frozen, never unpausing them; one of ours that no longer runs is removed (it only holds capacity).
import { errorMessage } from '../../core/errors.js';
import { filters } from '../../infra/docker-api.js';
import { LABEL_INSTANCE, LABEL_SERVICE } from '../docker-labels.js';
import type { ContainerSummary, Replica } from './replica.js';
import type { DockerState } from './state.js';

/** What a listing does to the replicas it judges (lifecycle.ts and pause.ts). */
export interface ListingActions {
  stop(r: Replica, now?: boolean): void;
  /** It died without our stopping it. */
  exited(r: Replica, exitCode: string | undefined): void;
  /** Someone else paused or unpaused it. */
  pausedFromOutside(r: Replica, paused: boolean): void;
}

export class Listing {
  /** Containers of services not in the config, already logged as adopted. */
  private readonly warned = new Set<string>();
  private relisting = false;

  constructor(
    private readonly state: DockerState,
    private readonly act: ListingActions,
  ) {}

  /** Reconciles what we track with the engine's own list of this instance's containers. */
  async sync(signal: AbortSignal): Promise<void> {
    const { ctx, api } = this.state;
    const started = ctx.clock.now();
    const { body } = await api.request<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: true, filters: filters({ label: [`${LABEL_INSTANCE}=${ctx.instance}`] }) },
      signal,
    });
    const seen = new Set<Replica>();
    let adopted = 0;
    let adoptedFrozen = 0;
    for (const c of body) {
      const labels = c.Labels ?? {};
      if (labels[LABEL_INSTANCE] !== ctx.instance) continue; // the filter did this; a second look costs nothing
      const service = labels[LABEL_SERVICE] ?? '';
      const name = (c.Names?.[0] ?? c.Id).replace(/^\//, '');
      if (!this.state.runs.has(service) && !this.warned.has(c.Id)) {
        // Ours, of a service the config no longer has: adopted, so that it counts against capacity; the
        // controller stops it, or keeps it running with `run --keep-removed`.
        this.warned.add(c.Id);
        ctx.logger.log(
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
        else this.act.stop(r); // ours, and no longer running: it only holds capacity
        this.state.notify(service);
      } else {
        if (r.id === undefined) this.state.setId(r, c.Id);
        const settled = !r.busy && r.freezeOps === 0 && r.frozenAt < started;
        if (!alive && (r.state === 'running' || r.state === 'frozen') && settled)
          this.act.exited(r, undefined);
        else if (alive && settled && r.paused !== paused) this.act.pausedFromOutside(r, paused);
      }
      seen.add(r);
    }
    for (const r of [...this.state.each()]) {
      // Gone while we could not see: known before this listing started, and not in it.
      if (!seen.has(r) && r.id !== undefined && r.knownAt < started && !r.busy) this.state.drop(r);
    }
    for (const r of this.state.each()) {
      if (r.state === 'stopping' && !r.stopQueued) this.act.stop(r, true);
    }
    if (adopted > 0) ctx.logger.log('info', `adopted ${adopted} running container(s)`);
    if (adoptedFrozen > 0) ctx.logger.log('info', `adopted ${adoptedFrozen} frozen (paused) container(s)`);
  }

  /** One extra listing soon (coalesced), while the stream is up; a broken stream lists again anyway. */
  relist(): void {
    if (this.relisting || this.state.closed) return;
    this.relisting = true;
    setTimeout(() => {
      this.relisting = false;
      if (this.state.closed || this.state.down) return;
      this.sync(this.state.signal).catch((error: unknown) => {
        this.state.ctx.logger.log('warn', `cannot list containers: ${errorMessage(error)}`);
      });
    }, 20).unref();
  }
}
