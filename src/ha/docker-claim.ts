// An instance's claim on a Docker engine, kept in labelled volumes.
//
// The engine has no mutable object with a compare-and-set, but creating a volume is atomic and idempotent
// by name: POST /volumes/create of a name that exists answers 201 with the EXISTING volume and its labels,
// which are immutable. So generation N of the claim is the volume `microscaler-claim.<instance>.<N>`, and
// whoever's labels it carries holds generation N: two instances creating the same generation cannot both
// win. A renewal creates generation N+1 (only the holder of N tries, unless N expired) and removes the older
// ones; the newest generation is the claim. Its record changes with every renewal, which is what the
// others watch (src/ha/claim.ts). Release removes every generation, so nothing is left behind.

import type { DockerApi } from '../infra/docker-api.js';
import { filters } from '../infra/docker-api.js';
import { type Claim, SeenRecord } from './claim.js';
import { newHolderId } from './redis-lease.js';

export const CLAIM_LABEL = 'microscaler.claim';
export const HOLDER_LABEL = 'microscaler.claim.holder';
export const GENERATION_LABEL = 'microscaler.claim.generation';

export interface DockerClaimOptions {
  readonly api: DockerApi;
  readonly instance: string;
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
  /** Milliseconds from a monotonic clock; performance.now() by default. */
  readonly timer?: () => number;
}

interface VolumeSummary {
  readonly Name: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
}

interface Generation {
  readonly n: number;
  readonly name: string;
  readonly holder: string;
}

export class DockerClaim implements Claim {
  readonly id: string;
  readonly where: string;
  private readonly opts: DockerClaimOptions;
  private readonly seen: SeenRecord;

  constructor(options: DockerClaimOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    this.seen = new SeenRecord(this.id, options.timer);
    this.where = `docker volumes ${volumeName(options.instance, 0).replace(/0$/, '*')} on ${options.api.address}`;
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const all = await this.generations(signal);
    const newest = all.at(-1);
    if (newest && newest.holder !== this.id && !this.seen.expired(this.opts.ttlMs)) return false;
    return this.next(all, signal);
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    const all = await this.generations(signal);
    if (all.at(-1)?.holder !== this.id) return false;
    return this.next(all, signal);
  }

  /** Removes every generation if the newest is ours; a newer one someone creates meanwhile stays. */
  async release(): Promise<void> {
    const signal = AbortSignal.timeout(2000);
    const all = await this.generations(signal);
    if (all.at(-1)?.holder !== this.id) return;
    await this.remove(all, signal);
  }

  async holder(signal: AbortSignal): Promise<string | null> {
    const newest = (await this.generations(signal)).at(-1);
    if (!newest) return null;
    return newest.holder === this.id || !this.seen.expired(this.opts.ttlMs) ? newest.holder : null;
  }

  aliveHolder(): string | undefined {
    return this.seen.aliveHolder();
  }

  /** The claim owns its client (one of its own, so the back-end's calls never queue behind it). */
  async close(): Promise<void> {
    this.opts.api.close();
  }

  /** Creates the generation after the newest; true when its labels are ours (we created it first). */
  private async next(all: readonly Generation[], signal: AbortSignal): Promise<boolean> {
    const n = (all.at(-1)?.n ?? 0) + 1;
    const name = volumeName(this.opts.instance, n);
    const { body } = await this.opts.api.request<VolumeSummary>('POST', '/volumes/create', {
      body: {
        Name: name,
        Labels: { [CLAIM_LABEL]: this.opts.instance, [HOLDER_LABEL]: this.id, [GENERATION_LABEL]: String(n) },
      },
      signal,
      timeoutMs: 10_000,
    });
    const holder = body?.Labels?.[HOLDER_LABEL] ?? '';
    this.seen.note(name, holder || null);
    if (holder !== this.id) return false;
    // The older generations are history now; one left behind is removed by the next renewal.
    await this.remove(all, signal).catch(() => {});
    return true;
  }

  private async remove(all: readonly Generation[], signal: AbortSignal): Promise<void> {
    for (const g of all) {
      await this.opts.api
        .request('DELETE', `/volumes/${encodeURIComponent(g.name)}`, { signal, timeoutMs: 10_000 })
        .catch((error: unknown) => {
          // Already gone (another holder's renewal removed it): fine.
          if ((error as { status?: number }).status !== 404) throw error;
        });
    }
  }

  /** Every generation of this instance's claim, oldest first; notes the newest as the record. */
  private async generations(signal: AbortSignal): Promise<Generation[]> {
    const { body } = await this.opts.api.request<{ Volumes?: VolumeSummary[] | null }>('GET', '/volumes', {
      query: { filters: filters({ label: [`${CLAIM_LABEL}=${this.opts.instance}`] }) },
      signal,
      timeoutMs: 10_000,
    });
    const out: Generation[] = [];
    for (const v of body?.Volumes ?? []) {
      const n = Number(v.Labels?.[GENERATION_LABEL]);
      if (Number.isSafeInteger(n) && n > 0 && v.Name === volumeName(this.opts.instance, n)) {
        out.push({ n, name: v.Name, holder: v.Labels?.[HOLDER_LABEL] ?? '' });
      }
    }
    out.sort((a, b) => a.n - b.n);
    const newest = out.at(-1);
    if (newest) this.seen.note(newest.name, newest.holder || null);
    return out;
  }
}

export function volumeName(instance: string, generation: number): string {
  return `microscaler-claim.${instance}.${generation}`;
}
