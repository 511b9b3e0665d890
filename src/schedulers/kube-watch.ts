// Watches the pods of one workload and says when any changes, so the controller reconciles at once (a freed
// slot reaches the waiting service without waiting for the next tick). It only signals; the counts always
// come from observe()'s fresh reads, so a missed event costs at most one tick, never a wrong count.
//
// List, then watch from the list's resourceVersion; on each event, remember its resourceVersion and resume
// from it when the server ends the stream. 410 Gone (the version is too old: the server compacted its
// history) means list again. Errors back off from 100 ms to 5 s.
import { errorMessage } from '../core/errors.js';
import type { Clock, Logger } from '../core/ports.js';
import { KubeApiError, type KubeClient } from '../infra/kube-client.js';

interface WatchEvent {
  readonly type?: string;
  readonly object?: { readonly code?: number; readonly metadata?: { readonly resourceVersion?: string } };
}

export interface PodWatchOptions {
  readonly client: KubeClient;
  /** /api/v1/namespaces/NS/pods */
  readonly path: string;
  readonly labelSelector: string;
  readonly onChange: () => void;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For log lines: deployment/web in namespace shop. */
  readonly what: string;
}

export class PodWatch {
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  /** Lists and watch streams made, for tests. */
  lists = 0;
  streams = 0;

  constructor(private readonly opts: PodWatchOptions) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    const { client, path, labelSelector, clock, logger, what } = this.opts;
    const signal = this.abort.signal;
    let version: string | undefined;
    let delay = 100;
    let failing = false;
    while (!signal.aborted) {
      try {
        if (version === undefined) {
          this.lists++;
          const list = await client.request<{ metadata?: { resourceVersion?: string } }>('GET', path, {
            query: { labelSelector },
            signal,
          });
          version = list.metadata?.resourceVersion ?? '';
          this.opts.onChange(); // anything may have changed while we were not watching
        }
        this.streams++;
        let gone = false;
        let events = 0;
        await client.stream(
          path,
          {
            labelSelector,
            resourceVersion: version,
            allowWatchBookmarks: 'true',
            timeoutSeconds: '300',
          },
          (line) => {
            const event = line as WatchEvent;
            events++;
            if (event.type === 'ERROR') {
              if (event.object?.code === 410) gone = true;
              return;
            }
            const v = event.object?.metadata?.resourceVersion;
            if (v) version = v;
            if (event.type !== 'BOOKMARK') this.opts.onChange();
          },
          signal,
        );
        if (gone) version = undefined;
        if (failing) logger.log('info', `watching the pods of ${what} again`);
        failing = false;
        if (events === 0) {
          // Ended at once with nothing to say: do not spin.
          await clock.sleep(delay, signal);
          delay = Math.min(delay * 2, 5000);
        } else delay = 100;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof KubeApiError && error.status === 410) {
          version = undefined;
          continue;
        }
        if (!failing)
          logger.log('warn', `cannot watch the pods of ${what}: ${errorMessage(error)}; polling only`);
        failing = true;
        version = undefined;
        await clock.sleep(delay, signal);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
