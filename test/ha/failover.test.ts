// High availability end to end: controllers sharing one back-end, elected through a real Redis lease.
// Each promise of docs/reliability.md ("High availability") has its test here; the same checks run for
// PostgreSQL (postgres-lease.test.ts) and a Kubernetes Lease (kube-lease.test.ts).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisLease } from '../../src/ha/redis-lease.js';
import { serverGate, uniqueName } from '../sources/servers.js';
import {
  cuttableProxy,
  expectCleanHandOver,
  expectFencedFailover,
  expectOneActs,
  type Instance,
  instance,
  leaderOf,
  otherOf,
  SharedBackend,
  waitFor,
} from './harness.js';

const URL = 'redis://127.0.0.1:6379';
const TTL = 900;
const skip = await serverGate('Redis', 6379);

describe('high availability', { skip }, () => {
  const keys: string[] = [];
  const open: Instance[] = [];
  const admin = skip ? undefined : new Redis(URL);
  after(async () => {
    await Promise.all(open.map((i) => i.close()));
    if (admin && keys.length > 0) await admin.del(...keys);
    admin?.disconnect();
  });
  /** Two instances on one key; with `aFirst`, b starts only once a leads. */
  async function pair(
    urlA = URL,
    aFirst = false,
  ): Promise<{ a: Instance; b: Instance; backend: SharedBackend; key: string }> {
    const key = uniqueName('microscaler-ha');
    keys.push(key);
    const backend = new SharedBackend();
    const a = instance('a', new RedisLease({ url: urlA, key, ttlMs: TTL }), TTL, backend);
    open.push(a);
    if (aFirst) await waitFor('a leads', () => a.leadership.isLeader(), 3000);
    const b = instance('b', new RedisLease({ url: URL, key, ttlMs: TTL }), TTL, backend);
    open.push(b);
    return { a, b, backend, key };
  }

  test('two instances on one config: exactly one leads and only it scales; the follower still plans', async () => {
    const { a, b, backend, key } = await pair();
    const leader = await expectOneActs(a, b, backend);
    assert.equal(await admin?.get(key), leader.leadership.id);
    await Promise.all([a.close(), b.close()]);
  });

  test('a leader that stops cleanly releases the lease: the follower takes over within ttl/3', async () => {
    const { a, b, backend } = await pair();
    await expectCleanHandOver(a, b, backend, TTL);
    await Promise.all([a.close(), b.close()]);
  });

  test('a leader whose renewals die (connection gone) is replaced within ttl + ttl/3 and stops acting first', async () => {
    const { a, b, backend } = await pair();
    await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 2000);
    const leader = leaderOf(a, b);
    // Its lease connection dies; its controller loop keeps running, wanting to scale (the worst case).
    await leader.lease.close();
    await expectFencedFailover(leader, otherOf(leader, a, b), backend, performance.now(), TTL);
    await Promise.all([a.close(), b.close()]);
  });

  test('a leader cut off from Redis (silent network) stops acting before its lease can expire', async () => {
    const proxy = await cuttableProxy(6379);
    try {
      // a reaches Redis through the proxy, and leads before b starts.
      const { a, b, backend, key } = await pair(`redis://127.0.0.1:${proxy.port}`, true);
      await delay(400);
      assert.equal(b.leadership.isLeader(), false);
      proxy.cut();
      await expectFencedFailover(a, b, backend, performance.now(), TTL);
      assert.equal(await admin?.get(key), b.leadership.id);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.close();
    }
  });
});
