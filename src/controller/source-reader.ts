// The source reader: one read slot per source, each read bounded by a timeout, and the latest result of each.
import { errorMessage } from '../core/errors.js';
import type { Clock, Source } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';

/** A source read in flight. */
interface Read {
  started: number;
  readonly abort: AbortController;
  done: Promise<void>;
}

export interface SourceReaderOptions {
  readonly sources: ReadonlyMap<string, Source>;
  readonly clock: Clock;
  readonly readTimeoutMs: number;
  readonly intervalMs: number;
  /** Called for each failed or timed-out read (for the per-service error counter). */
  readonly onError: (service: string) => void;
}

export class SourceReader {
  /** The latest result of each source, what the planner reads. */
  readonly latest = new Map<string, SourceResult>();
  /** One slot per source, made once: the read in flight, if any. */
  private readonly slots: { name: string; source: Source; read: Read | undefined }[];
  private readonly opts: SourceReaderOptions;

  constructor(options: SourceReaderOptions) {
    this.opts = options;
    this.slots = [...options.sources].map(([name, source]) => ({ name, source, read: undefined }));
  }

  /**
   * Starts a read for every source with none in flight, and waits for them, but no longer than a tick. A read
   * still running after readTimeoutMs is aborted and counts as a failure; its late answer is ignored.
   */
  async read(): Promise<void> {
    const { clock, readTimeoutMs, intervalMs, onError } = this.opts;
    const now = clock.now();
    // Reads started together time out together: one AbortController serves the whole batch.
    let batch: AbortController | undefined;
    const waiting: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.read) {
        // A clock that went back restarts the read's time rather than letting it run unbounded.
        if (now < slot.read.started) slot.read.started = now;
        if (now - slot.read.started < readTimeoutMs) {
          waiting.push(slot.read.done);
          continue;
        }
        slot.read.abort.abort();
        slot.read = undefined;
        this.latest.set(slot.name, { ok: false, error: `no answer within ${readTimeoutMs}ms` });
        onError(slot.name);
      }
      batch ??= new AbortController();
      const read: Read = { started: now, abort: batch, done: Promise.resolve() };
      read.done = slot.source
        .read(batch.signal)
        .catch((error): SourceResult => ({ ok: false, error: errorMessage(error) }))
        .then((answer) => {
          if (slot.read !== read) return; // timed out meanwhile
          const result = checked(answer);
          if (!result.ok) onError(slot.name);
          this.latest.set(slot.name, result);
          slot.read = undefined;
        });
      slot.read = read;
      waiting.push(read.done);
    }
    if (waiting.length === 0) return;
    const all = Promise.all(waiting).then(() => true);
    // Most reads answer at once (in-memory sources, cached values): only a read still running after this
    // turn of the event loop needs a timer to bound the wait.
    const settled = await Promise.race([
      all,
      new Promise<false>((resolve) => setImmediate(() => resolve(false))),
    ]);
    // No abort for this sleep: aborting costs more (an AbortError per tick) than letting the timer lapse.
    if (!settled) await Promise.race([all, clock.sleep(Math.min(intervalMs, readTimeoutMs))]);
  }
}

/**
 * A reading the planner can use, or a failure saying why not. Built-in sources check their values already;
 * this keeps any other source's NaN, Infinity or negative value out of the plan (it would spread to every
 * lower priority).
 */
function checked(result: SourceResult): SourceResult {
  if (!result.ok) return result;
  const { value, rate } = result.reading;
  if (!Number.isFinite(value) || value < 0)
    return { ok: false, error: `the source gave an unusable value: ${value}` };
  if (rate !== undefined && (!Number.isFinite(rate) || rate < 0))
    return { ok: false, error: `the source gave an unusable rate: ${rate}` };
  return result;
}
