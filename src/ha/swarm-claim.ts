// An instance's claim on a Docker Swarm, kept in a swarm config object's labels.
//
// A config's name is unique in the swarm (a second create answers 409), and its labels can be updated with
// POST /configs/{id}/update?version=N, which the managers refuse ("update out of sequence") unless N is
// the object's current version: a real compare-and-set. Every renewal writes the labels, so the version,
// the record the others watch (src/ha/claim.ts), changes with each. Release empties the holder label with
// the same compare-and-set, so a follower takes the claim at once; the object stays (a few hundred bytes,
// reused by the next run; `docker config rm` removes it safely while no instance of that name runs).

import { createHash } from 'node:crypto';
import { type DockerApi, DockerApiError } from '../infra/docker-api.js';
import { type Claim, SeenRecord } from './claim.js';
import { CLAIM_LABEL, HOLDER_LABEL } from './docker-claim.js';
import { newHolderId } from './redis-lease.js';

const RENEWED_LABEL = 'microscaler.claim.renewed';

export interface SwarmClaimOptions {
  readonly api: DockerApi;
  readonly instance: string;
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
  /** Milliseconds from a monotonic clock; performance.now() by default. */
  readonly timer?: () => number;
}

interface ConfigObject {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly Spec: {
    readonly Name: string;
    readonly Labels?: Readonly<Record<string, string>> | null;
    Data?: string;
  };
}

export class SwarmClaim implements Claim {
  readonly id: string;
  readonly where: string;
  private readonly opts: SwarmClaimOptions;
  private readonly seen: SeenRecord;
  private readonly name: string;

  constructor(options: SwarmClaimOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    this.seen = new SeenRecord(this.id, options.timer);
    this.name = configName(options.instance);
    this.where = `swarm config ${this.name} on ${options.api.address}`;
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const config = await this.read(signal);
    if (!config) return this.create(signal);
    const holder = holderOf(config);
    if (holder !== null && holder !== this.id && !this.seen.expired(this.opts.ttlMs)) return false;
    return this.write(config, this.id, signal);
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    const config = await this.read(signal);
    if (!config || holderOf(config) !== this.id) return false;
    return this.write(config, this.id, signal);
  }

  async release(): Promise<void> {
    const signal = AbortSignal.timeout(2000);
    const config = await this.read(signal);
    if (config && holderOf(config) === this.id) await this.write(config, '', signal);
  }

  async holder(signal: AbortSignal): Promise<string | null> {
    const config = await this.read(signal);
    const holder = config ? holderOf(config) : null;
    if (holder === null) return null;
    return holder === this.id || !this.seen.expired(this.opts.ttlMs) ? holder : null;
  }

  aliveHolder(): string | undefined {
    return this.seen.aliveHolder();
  }

  /** The claim owns its client (one of its own, so the back-end's calls never queue behind it). */
  async close(): Promise<void> {
    this.opts.api.close();
  }

  /** The claim object, or undefined when there is none; one of that name that is not a claim is refused. */
  private async read(signal: AbortSignal): Promise<ConfigObject | undefined> {
    let config: ConfigObject;
    try {
      ({ body: config } = await this.opts.api.request<ConfigObject>(
        'GET',
        `/configs/${encodeURIComponent(this.name)}`,
        { signal, timeoutMs: 10_000 },
      ));
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 404) return undefined;
      throw error;
    }
    // The engine also matches an ID prefix; only the object of exactly this name and label is the claim.
    if (config.Spec.Name !== this.name || config.Spec.Labels?.[CLAIM_LABEL] !== this.opts.instance) {
      throw new Error(
        `swarm config ${this.name} exists but is not microscaler's claim of instance "${this.opts.instance}" (label ${CLAIM_LABEL}); remove or rename it`,
      );
    }
    this.seen.note(String(config.Version.Index), holderOf(config));
    return config;
  }

  private async create(signal: AbortSignal): Promise<boolean> {
    try {
      await this.opts.api.request('POST', '/configs/create', {
        body: {
          Name: this.name,
          Labels: this.labels(this.id),
          Data: Buffer.from(`microscaler claim of instance ${this.opts.instance}\n`).toString('base64'),
        },
        signal,
        timeoutMs: 10_000,
      });
      return true;
    } catch (error) {
      // Someone else created it first.
      if (error instanceof DockerApiError && error.status === 409) return false;
      throw error;
    }
  }

  /** Writes the holder label, only if nobody wrote the object since we read it. */
  private async write(config: ConfigObject, holder: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.opts.api.request('POST', `/configs/${encodeURIComponent(config.ID)}/update`, {
        query: { version: config.Version.Index },
        body: { ...config.Spec, Labels: { ...config.Spec.Labels, ...this.labels(holder) } },
        signal,
        timeoutMs: 10_000,
      });
      return true;
    } catch (error) {
      if (
        error instanceof DockerApiError &&
        (error.status === 404 || /out of sequence/i.test(error.message))
      ) {
        return false;
      }
      throw error;
    }
  }

  private labels(holder: string): Record<string, string> {
    return {
      [CLAIM_LABEL]: this.opts.instance,
      [HOLDER_LABEL]: holder,
      [RENEWED_LABEL]: new Date().toISOString(),
    };
  }
}

function holderOf(config: ConfigObject): string | null {
  return config.Spec.Labels?.[HOLDER_LABEL] || null;
}

/** `microscaler-claim-<instance>`; a hash stands in for an instance name too long for a config (64). */
export function configName(instance: string): string {
  const plain = `microscaler-claim-${instance}`;
  if (plain.length <= 64 && /[a-zA-Z0-9]$/.test(plain)) return plain;
  const hash = createHash('sha256').update(instance).digest('hex').slice(0, 16);
  return `microscaler-claim-${instance.slice(0, 64 - 19 - hash.length)}-${hash}`.replace(/[-._]+-/, '-');
}
