// A lease on a Kubernetes coordination.k8s.io/v1 Lease object, as client-go's leader election keeps it.
//
// Writes are compare-and-swap on metadata.resourceVersion (a stale write gets 409 Conflict), so two
// instances cannot both take the Lease from one version of it. Expiry, though, is judged by each client's
// own clock, never by the timestamps in the object: a follower counts the Lease expired only when the
// record has not changed for leaseDurationSeconds on ITS OWN monotonic clock since it last saw it change.
// The record changes with every renewal; the follower sees the change after the leader sent it, so the
// leader, which stops acting ttl − margin after it sent its last successful renewal, stops before any
// follower can count the Lease expired. Assumed: the instances' clocks run at about the same rate (the
// margin covers ttl/5 of difference); their wall clocks may disagree by any amount.

import type { Lease } from '../controller/leadership.js';
import { KubeApiError, KubeClient, type KubeConnection } from '../infra/kube-client.js';
import { newHolderId } from './redis-lease.js';

export interface KubeLeaseOptions {
  readonly connection: KubeConnection;
  readonly namespace: string;
  /** The Lease object's name. */
  readonly name: string;
  /** Kubernetes counts whole seconds: rounded up. */
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
  /** Milliseconds from a monotonic clock; performance.now() by default. */
  readonly timer?: () => number;
}

/** The parts of a Lease that leader election reads and writes. */
interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export class KubeLease implements Lease {
  readonly id: string;
  private readonly client: KubeClient;
  private readonly path: string;
  private readonly opts: KubeLeaseOptions;
  private readonly seconds: number;
  private readonly bound: number;
  private readonly timer: () => number;
  /** The record as last seen, and when (monotonic) we saw it change; client-go's observedRecord/Time. */
  private seen: { record: string; at: number } | undefined;
  /** Another holder whose renewal we saw (the record changed under it): alive. For claims, src/ha/claim.ts. */
  private alive: string | undefined;

  constructor(options: KubeLeaseOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    this.client = new KubeClient(options.connection);
    this.seconds = Math.max(1, Math.ceil(options.ttlMs / 1000));
    this.bound = Math.max(50, Math.floor((this.seconds * 1000) / 3));
    this.timer = options.timer ?? (() => performance.now());
    const ns = encodeURIComponent(options.namespace);
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${encodeURIComponent(options.name)}`;
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const lease = await this.get(signal);
    if (!lease) return this.create(signal);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity || null;
    if (holder !== null && holder !== this.id && !this.expired(spec)) return false;
    const now = microTime();
    const ours = holder === this.id;
    return this.replace(
      lease,
      {
        holderIdentity: this.id,
        leaseDurationSeconds: this.seconds,
        acquireTime: ours ? (spec.acquireTime ?? now) : now,
        renewTime: now,
        // As client-go: every change of holder counts, a take-over after a release too.
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
      signal,
    );
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    const lease = await this.get(signal);
    const spec = lease?.spec;
    if (!lease || !spec || spec.holderIdentity !== this.id) return false;
    return this.replace(
      lease,
      { ...spec, leaseDurationSeconds: this.seconds, renewTime: microTime() },
      signal,
    );
  }

  /** Gives the Lease up as client-go does: no holder, so a follower takes it without waiting. */
  async release(): Promise<void> {
    const signal = AbortSignal.timeout(1000);
    const lease = await this.get(signal);
    const spec = lease?.spec;
    if (!lease || !spec || spec.holderIdentity !== this.id) return;
    const now = microTime();
    await this.replace(
      lease,
      { ...spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      signal,
    );
  }

  /** The holder, or null when nobody holds it or it expired as this instance counts. */
  async holder(signal: AbortSignal): Promise<string | null> {
    const spec = (await this.get(signal))?.spec;
    const holder = spec?.holderIdentity || null;
    if (holder === null || !spec) return null;
    return holder === this.id || !this.expired(spec) ? holder : null;
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /** Whether the record has gone unchanged for its lease duration on our clock, since we saw it change. */
  private expired(spec: LeaseSpec): boolean {
    const seconds = spec.leaseDurationSeconds ?? this.seconds;
    return this.seen !== undefined && this.timer() - this.seen.at >= seconds * 1000;
  }

  /** GETs the Lease (undefined when there is none) and notes when its record changed. */
  private async get(signal: AbortSignal): Promise<LeaseObject | undefined> {
    let lease: LeaseObject;
    try {
      lease = await this.client.request<LeaseObject>('GET', this.path, { signal, timeoutMs: this.bound });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
    this.observe(lease.spec ?? {});
    return lease;
  }

  private observe(spec: LeaseSpec): void {
    // The record, as client-go compares it: any renewal changes renewTime, so it changes with every beat.
    const record = JSON.stringify([
      spec.holderIdentity ?? null,
      spec.leaseDurationSeconds ?? null,
      spec.acquireTime ?? null,
      spec.renewTime ?? null,
      spec.leaseTransitions ?? null,
    ]);
    if (this.seen?.record === record) return;
    const holder = spec.holderIdentity || null;
    if (this.seen !== undefined && holder !== null && holder !== this.id) this.alive = holder;
    this.seen = { record, at: this.timer() };
  }

  /** Another holder seen renewing the Lease since this instance started looking, or undefined. */
  aliveHolder(): string | undefined {
    return this.alive;
  }

  private async create(signal: AbortSignal): Promise<boolean> {
    const now = microTime();
    const spec: LeaseSpec = {
      holderIdentity: this.id,
      leaseDurationSeconds: this.seconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    const body: LeaseObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace },
      spec,
    };
    const collection = this.path.slice(0, this.path.lastIndexOf('/'));
    try {
      const created = await this.client.request<LeaseObject>('POST', collection, {
        body,
        signal,
        timeoutMs: this.bound,
      });
      this.observe(created.spec ?? spec);
      return true;
    } catch (error) {
      // Someone else created it first.
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw error;
    }
  }

  /** PUTs the Lease with a new spec, only if nobody wrote it since we read it; false on 409 Conflict. */
  private async replace(lease: LeaseObject, spec: LeaseSpec, signal: AbortSignal): Promise<boolean> {
    try {
      const updated = await this.client.request<LeaseObject>('PUT', this.path, {
        body: { ...lease, spec },
        signal,
        timeoutMs: this.bound,
      });
      this.observe(updated.spec ?? spec);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw error;
    }
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
