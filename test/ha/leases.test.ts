// The HA lease registry (src/ha/leases.ts): each store kind gives its lease; the kubernetes one finds its
// API through the context and its namespace from the store, else the credentials, else "default".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HaStore } from '../../src/core/types.js';
import { KubeLease } from '../../src/ha/kube-lease.js';
import { createLease, type KubeTarget, type LeaseContext } from '../../src/ha/leases.js';
import { PostgresLease } from '../../src/ha/postgres-lease.js';
import { RedisLease } from '../../src/ha/redis-lease.js';
import { FakeKubeApi } from '../fakes/kube-api.js';

describe('lease registry', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await FakeKubeApi.start();
    api.tokens.add('t');
  });
  after(async () => {
    await api.stop();
  });
  const target = (namespace: string | undefined): KubeTarget => ({
    connection: { server: api.url, ca: api.certs.ca, token: () => 't', describe: 'test token' },
    namespace,
  });
  const ctx = (namespace?: string, seen: unknown[] = []): LeaseContext => ({
    key: 'lead',
    ttlMs: 3000,
    resolveKube: async (where) => {
      seen.push(where);
      return target(namespace);
    },
  });

  const kinds: Array<[HaStore, new (...args: never[]) => unknown]> = [
    [{ type: 'redis', url: 'redis://127.0.0.1:1' }, RedisLease],
    [{ type: 'postgres', url: 'postgres://127.0.0.1:1/x' }, PostgresLease],
    [{ type: 'kubernetes' }, KubeLease],
  ];
  for (const [store, kind] of kinds) {
    test(`${store.type} gives a ${kind.name}`, async () => {
      const lease = await createLease(store, ctx('ops'));
      try {
        assert.ok(lease instanceof kind);
      } finally {
        await lease.close();
      }
    });
  }

  const namespaces: Array<[string | undefined, string | undefined, string]> = [
    ['mine', 'theirs', 'mine'],
    [undefined, 'theirs', 'theirs'],
    [undefined, undefined, 'default'],
  ];
  for (const [given, found, used] of namespaces) {
    test(`kubernetes: namespace ${given ?? '-'} in the store, ${found ?? '-'} in the credentials: ${used}`, async () => {
      const lease = await createLease(
        { type: 'kubernetes', ...(given ? { namespace: given } : {}) },
        ctx(found),
      );
      try {
        api.requests.length = 0;
        await lease.holder(AbortSignal.timeout(2000));
        assert.deepEqual(api.requests, [`GET /apis/coordination.k8s.io/v1/namespaces/${used}/leases/lead`]);
      } finally {
        await lease.close();
      }
    });
  }

  test('kubernetes: the kubeconfig and context given reach the resolver, nothing else', async () => {
    const seen: unknown[] = [];
    for (const store of [
      { type: 'kubernetes', kubeconfig: '/k', context: 'c', namespace: 'n' },
      { type: 'kubernetes' },
    ] as const) {
      await (await createLease(store, ctx('ops', seen))).close();
    }
    assert.deepEqual(seen, [{ kubeconfig: '/k', context: 'c' }, {}]);
  });

  test("kubernetes: the resolver's failure is the registry's", async () => {
    const failing: LeaseContext = {
      ...ctx(),
      resolveKube: async () => {
        throw new Error('no kubeconfig');
      },
    };
    await assert.rejects(createLease({ type: 'kubernetes' }, failing), /no kubeconfig/);
  });
});
