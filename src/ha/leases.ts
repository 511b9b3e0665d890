// The HA lease registry: one entry per lease store kind (redis, postgres, kubernetes); each store's client loads only when configured.
import type { Lease } from '../controller/index.js';
import type { HaStore } from '../core/types.js';
import type { KubeConnection } from '../infra/kube-client.js';

/** Where the Kubernetes API is, as the kubernetes back-end finds it (in-cluster, else the kubeconfig). */
export interface KubeTarget {
  readonly connection: KubeConnection;
  readonly namespace: string | undefined;
}

export interface LeaseContext {
  /** The lease's name in its store. */
  readonly key: string;
  readonly ttlMs: number;
  /** Finds the Kubernetes API for a kubernetes store; the composition root knows how. */
  readonly resolveKube: (where: { kubeconfig?: string; context?: string }) => Promise<KubeTarget>;
}

type Kinds = {
  readonly [K in HaStore['type']]: (
    store: Extract<HaStore, { type: K }>,
    ctx: LeaseContext,
  ) => Promise<Lease>;
};

// One entry per lease store; add new kinds here (and to HaStore and the config's `ha:` schema).
const KINDS: Kinds = {
  redis: async (store, { key, ttlMs }) => {
    const { RedisLease } = await import('./redis-lease.js');
    return new RedisLease({ url: store.url, key, ttlMs });
  },
  postgres: async (store, { key, ttlMs }) => {
    const { PostgresLease } = await import('./postgres-lease.js');
    return new PostgresLease({ url: store.url, key, ttlMs });
  },
  kubernetes: async (store, { key, ttlMs, resolveKube }) => {
    const { KubeLease } = await import('./kube-lease.js');
    const target = await resolveKube({
      ...(store.kubeconfig ? { kubeconfig: store.kubeconfig } : {}),
      ...(store.context ? { context: store.context } : {}),
    });
    const namespace = store.namespace ?? target.namespace ?? 'default';
    return new KubeLease({ connection: target.connection, namespace, name: key, ttlMs });
  },
};

/** The lease in its store, not yet connected: connections open on first use. */
export function createLease(store: HaStore, ctx: LeaseContext): Promise<Lease> {
  const create = KINDS[store.type] as (store: HaStore, ctx: LeaseContext) => Promise<Lease>;
  return create(store, ctx);
}
