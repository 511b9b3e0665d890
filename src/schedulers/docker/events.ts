// The docker engine's event stream for this instance's containers, and the resync (a listing) each time it opens.
//
// State comes from /events, so a container that exits or is removed behind our back is seen at once; the
// stream is opened before the containers are listed, so nothing falls between the two. When the stream
// breaks (engine restarting, socket gone), the back-end is down (state.ts) until the stream is back and a
// fresh listing has been reconciled with what we track.
import { errorMessage } from '../../core/errors.js';
import { DockerUnreachableError, filters } from '../../infra/docker-api.js';
import { LABEL_INSTANCE } from '../docker-labels.js';
import type { Listing } from './listing.js';
import type { EngineEvent, Replica } from './replica.js';
import type { DockerState } from './state.js';

/** What an event does to the replica it names (lifecycle.ts and pause.ts). */
export interface EventActions {
  /** It died without our stopping it. */
  exited(r: Replica, exitCode: string | undefined): void;
  /** Someone may have paused or unpaused it: ask the engine. */
  recheckPaused(r: Replica): Promise<void>;
}

export class EngineEvents {
  constructor(
    private readonly state: DockerState,
    private readonly listing: Listing,
    private readonly act: EventActions,
  ) {}

  /** Follows /events for this instance's containers, reconnecting with backoff until closed. */
  async follow(): Promise<void> {
    const { api, ctx } = this.state;
    let delay = 100;
    while (!this.state.closed) {
      const attempt = new AbortController();
      const onClose = () => attempt.abort();
      this.state.signal.addEventListener('abort', onClose);
      try {
        await api.stream('GET', '/events', (v) => this.onEvent(v as EngineEvent), {
          query: {
            filters: filters({ type: ['container'], label: [`${LABEL_INSTANCE}=${ctx.instance}`] }),
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
      await ctx.clock.sleep(delay, this.state.signal);
      delay = Math.min(delay * 2, 2000);
    }
  }

  /** After the stream opens: list, reconcile, and only then say we are connected. */
  private async resync(stream: AbortController): Promise<void> {
    try {
      await this.listing.sync(stream.signal);
    } catch (error) {
      if (stream.signal.aborted) return;
      this.state.setDown(`cannot list containers: ${errorMessage(error)}`);
      stream.abort(); // the event loop reconnects and lists again
      return;
    }
    if (stream.signal.aborted) return;
    this.state.setUp();
  }

  private onEvent(e: EngineEvent): void {
    if (e.Type !== undefined && e.Type !== 'container') return;
    const attributes = e.Actor?.Attributes ?? {};
    if (attributes[LABEL_INSTANCE] !== this.state.ctx.instance) return;
    const id = e.Actor?.ID ?? e.id ?? '';
    const r = this.state.byId(id) ?? (attributes.name ? this.state.byName(attributes.name) : undefined);
    if (!r) {
      // A labelled container we did not make or list: made by a microscaler that died with its create or
      // start in flight (the engine finishes those), or by another instance sharing the name. List again
      // at once to adopt it (or remove it, if it never started), so it neither runs nor sits untracked.
      if (e.Action === 'create' || e.Action === 'start') this.listing.relist();
      return;
    }
    if (r.id === undefined && id !== '') this.state.setId(r, id);
    switch (e.Action) {
      case 'start':
        if (r.state === 'starting') {
          r.state = 'running';
          r.startedAt = this.state.ctx.clock.now();
          this.state.notify(r.service);
        }
        break;
      case 'die':
        r.paused = false; // a dead container is not frozen: it holds capacity as stopping until removed
        if (r.state !== 'stopping') this.act.exited(r, attributes.exitCode);
        else this.state.notify(r.service);
        break;
      case 'pause':
      case 'unpause': {
        // Ours (in flight, or what we already believe) say nothing new. Otherwise it is someone's
        // `docker pause`/`unpause`, or a late event of ours: ask the engine which.
        const paused = e.Action === 'pause';
        if (r.busy || r.freezeOps > 0 || r.paused === paused) break;
        void this.act.recheckPaused(r);
        break;
      }
      case 'destroy':
        this.state.drop(r);
        break;
    }
  }
}
