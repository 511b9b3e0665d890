// Images are made ready at start-up, so that a scale-up never waits on a pull that could have happened
// earlier (Force12 found that where images come from decided its start times). Per service policy:
// `always` pulls at start-up, `missing` pulls only what is not present, `never` only checks.
// A failure is kept and reported by ready(); a retry runs in the background, never inside a scale-up.
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/ports.js';
import type { RunSpec } from '../../core/types.js';
import { type DockerApi, DockerApiError } from '../../infra/docker-api.js';

export type PullPolicy = NonNullable<RunSpec['pull']>;

const PULL_TIMEOUT_MS = 10 * 60_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

/** `fromImage` and `tag` for POST /images/create: a reference without tag means `latest`, not every tag. */
export function pullQuery(ref: string): { fromImage: string; tag?: string } {
  if (ref.includes('@')) return { fromImage: ref };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { fromImage: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { fromImage: ref, tag: 'latest' };
}

/** The stronger of two policies for one image used by several services. */
function stronger(a: PullPolicy, b: PullPolicy): PullPolicy {
  const rank = { never: 0, missing: 1, always: 2 };
  return rank[a] >= rank[b] ? a : b;
}

interface ImageState {
  readonly image: string;
  policy: PullPolicy;
  status: 'unknown' | 'preparing' | 'ready' | 'failed';
  error?: string;
  attempts: number;
  retryAt: number;
  work?: Promise<void>;
}

export interface ImageUse {
  readonly service: string;
  readonly image: string;
  readonly pull: PullPolicy;
}

export class Images {
  private readonly byImage = new Map<string, ImageState>();
  private readonly byService = new Map<string, ImageState>();

  constructor(
    private readonly api: DockerApi,
    private readonly logger: Logger,
    uses: readonly ImageUse[],
    private readonly now: () => number = Date.now,
  ) {
    for (const u of uses) {
      let s = this.byImage.get(u.image);
      if (!s) {
        s = { image: u.image, policy: u.pull, status: 'unknown', attempts: 0, retryAt: 0 };
        this.byImage.set(u.image, s);
      }
      s.policy = stronger(s.policy, u.pull);
      this.byService.set(u.service, s);
    }
  }

  /** Makes every image ready, in parallel. Never throws: failures are logged and kept for ready(). */
  async prepare(): Promise<void> {
    await Promise.all([...this.byImage.values()].map((s) => this.attempt(s)));
  }

  /**
   * Returns when the service's image is present; otherwise throws at once with the reason (and starts a
   * background retry when one is due), so the caller's backoff, not a pull, decides when to try again.
   */
  ready(service: string): void {
    const s = this.byService.get(service);
    if (!s || s.status === 'ready') return;
    // The last failure, if any, says more than "a retry is running".
    const what = s.error ? `is not available: ${s.error}` : 'is still being prepared';
    if (s.status !== 'preparing' && this.now() >= s.retryAt) void this.attempt(s);
    throw new Error(`image "${s.image}" of service ${service} ${what}`);
  }

  /** What each image's state is, for status output and tests. */
  states(): ReadonlyMap<string, { status: string; error?: string }> {
    return new Map(
      [...this.byImage].map(([image, s]) => [
        image,
        { status: s.status, ...(s.error === undefined ? {} : { error: s.error }) },
      ]),
    );
  }

  private attempt(s: ImageState): Promise<void> {
    if (s.work) return s.work;
    s.status = 'preparing';
    s.work = this.prepareOne(s)
      .then(
        () => {
          s.status = 'ready';
          s.attempts = 0;
          delete s.error;
          this.logger.log('info', `image ${s.image} is ready (pull policy ${s.policy})`);
        },
        (error: unknown) => {
          s.status = 'failed';
          s.error = errorMessage(error);
          s.attempts++;
          s.retryAt = this.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (s.attempts - 1));
          this.logger.log('error', `image ${s.image}: ${s.error}`, { image: s.image, policy: s.policy });
        },
      )
      .finally(() => {
        s.work = undefined;
      });
    return s.work;
  }

  private async prepareOne(s: ImageState): Promise<void> {
    if (s.policy !== 'always' && (await this.present(s.image))) return;
    if (s.policy === 'never') {
      throw new Error(`not present on the engine and its pull policy is "never" (load or build it first)`);
    }
    await this.pull(s.image);
  }

  private async present(image: string): Promise<boolean> {
    try {
      await this.api.request('GET', `/images/${encodeURI(image)}/json`, { timeoutMs: 30_000 });
      return true;
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 404) return false;
      throw error;
    }
  }

  /** Pull errors arrive inside a 200 stream as `{"error": ...}`: read it to the end. */
  private async pull(image: string): Promise<void> {
    const started = this.now();
    let failure: string | undefined;
    try {
      await this.api.stream(
        'POST',
        '/images/create',
        (value) => {
          const v = value as { error?: unknown; errorDetail?: { message?: unknown } };
          if (typeof v.error === 'string') failure ??= v.error;
          else if (typeof v.errorDetail?.message === 'string') failure ??= v.errorDetail.message;
        },
        { query: pullQuery(image), timeoutMs: PULL_TIMEOUT_MS },
      );
    } catch (error) {
      throw new Error(`pull failed: ${errorMessage(error)}`);
    }
    if (failure !== undefined) throw new Error(`pull failed: ${failure}`);
    this.logger.log('info', `pulled ${image} in ${this.now() - started}ms`);
  }
}
