// An instance's claim on a Nomad cluster, kept in a Nomad Variable `microscaler/claim/<instance>`.
//
// Variables are written with check-and-set: PUT /v1/var/:path?cas=N succeeds only if the variable's
// ModifyIndex is N (cas=0: only if there is none), and answers 409 Conflict otherwise, so two instances
// cannot both take one version of the claim. Every renewal rewrites the items, so the ModifyIndex, the
// record the others watch (src/ha/claim.ts), changes with each. Release empties the holder with the same
// check, so a follower takes the claim at once; the variable stays for the next run.
// Needs the token's ACL to allow `variables` read and write on that path in the namespace.

import { errorMessage, TransientError } from '../core/errors.js';
import { type Claim, SeenRecord } from './claim.js';
import { newHolderId } from './redis-lease.js';

export interface NomadClaimOptions {
  /** The agent's HTTP API, e.g. http://127.0.0.1:4646. */
  readonly address: string;
  readonly token?: string | undefined;
  readonly namespace?: string | undefined;
  readonly region?: string | undefined;
  readonly instance: string;
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
  /** Milliseconds from a monotonic clock; performance.now() by default. */
  readonly timer?: () => number;
}

interface Variable {
  readonly ModifyIndex: number;
  readonly Items?: Readonly<Record<string, string>> | null;
}

export class NomadClaim implements Claim {
  readonly id: string;
  readonly where: string;
  private readonly opts: NomadClaimOptions;
  private readonly seen: SeenRecord;
  private readonly path: string;

  constructor(options: NomadClaimOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    this.seen = new SeenRecord(this.id, options.timer);
    this.path = variablePath(options.instance);
    this.where = `Nomad variable ${this.path} (namespace ${options.namespace ?? 'default'}) at ${options.address}`;
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const current = await this.read(signal);
    const holder = current ? holderOf(current) : null;
    if (holder !== null && holder !== this.id && !this.seen.expired(this.opts.ttlMs)) return false;
    return this.write(current?.ModifyIndex ?? 0, this.id, signal);
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    const current = await this.read(signal);
    if (!current || holderOf(current) !== this.id) return false;
    return this.write(current.ModifyIndex, this.id, signal);
  }

  async release(): Promise<void> {
    const signal = AbortSignal.timeout(2000);
    const current = await this.read(signal);
    if (current && holderOf(current) === this.id) await this.write(current.ModifyIndex, '', signal);
  }

  async holder(signal: AbortSignal): Promise<string | null> {
    const current = await this.read(signal);
    const holder = current ? holderOf(current) : null;
    if (holder === null) return null;
    return holder === this.id || !this.seen.expired(this.opts.ttlMs) ? holder : null;
  }

  aliveHolder(): string | undefined {
    return this.seen.aliveHolder();
  }

  async close(): Promise<void> {}

  private async read(signal: AbortSignal): Promise<Variable | undefined> {
    const { status, body, text } = await this.call('GET', undefined, signal);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`${this.where}: GET answered ${status}: ${text}`);
    const variable = body as Variable;
    if (variable.Items?.instance !== this.opts.instance) {
      throw new Error(
        `${this.where} exists but is not microscaler's claim of instance "${this.opts.instance}"; remove or rename it`,
      );
    }
    this.seen.note(String(variable.ModifyIndex), holderOf(variable));
    return variable;
  }

  /** Writes the holder only if the variable is still at `index`; false when someone wrote it meanwhile. */
  private async write(index: number, holder: string, signal: AbortSignal): Promise<boolean> {
    const items = { instance: this.opts.instance, holder, renewed: new Date().toISOString() };
    const { status, body, text } = await this.call('PUT', { Path: this.path, Items: items }, signal, index);
    if (status === 409) return false;
    if (status !== 200) throw new Error(`${this.where}: PUT answered ${status}: ${text}`);
    const written = body as Variable;
    this.seen.note(String(written.ModifyIndex), holder || null);
    return true;
  }

  private async call(
    method: string,
    payload: unknown,
    signal: AbortSignal,
    cas?: number,
  ): Promise<{ status: number; body: unknown; text: string }> {
    const url = new URL(`${this.opts.address.replace(/\/+$/, '')}/v1/var/${this.path}`);
    if (this.opts.namespace) url.searchParams.set('namespace', this.opts.namespace);
    if (this.opts.region) url.searchParams.set('region', this.opts.region);
    if (cas !== undefined) url.searchParams.set('cas', String(cas));
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.opts.token ? { 'X-Nomad-Token': this.opts.token } : {}),
        },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      });
      text = await response.text();
    } catch (error) {
      throw new TransientError(`${this.where}: ${method} failed: ${errorMessage(error)}`);
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text: text.slice(0, 300) };
  }
}

function holderOf(variable: Variable): string | null {
  return variable.Items?.holder || null;
}

/** `microscaler/claim/<instance>`, with "." as "~": variable paths allow letters, digits, -, _, ~ and /. */
export function variablePath(instance: string): string {
  return `microscaler/claim/${instance.replaceAll('.', '~')}`;
}
