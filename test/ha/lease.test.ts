// The Redis lease (src/ha/redis-lease.ts) against a real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisLease } from '../../src/ha/redis-lease.js';
import { serverGate, uniqueName } from '../sources/servers.js';

const URL = 'redis://127.0.0.1:6379';
const skip = await serverGate('Redis', 6379);
const signal = () => AbortSignal.timeout(2000);

describe('redis lease', { skip }, () => {
  const leases: RedisLease[] = [];
  const keys: string[] = [];
  const admin = skip ? undefined : new Redis(URL);
  after(async () => {
    await Promise.all(leases.map((l) => l.close()));
    if (admin && keys.length > 0) await admin.del(...keys);
    admin?.disconnect();
  });
  function pair(ttlMs = 1000): [RedisLease, RedisLease, string] {
    const key = uniqueName('microscaler-lease');
    keys.push(key);
    const a = new RedisLease({ url: URL, key, ttlMs });
    const b = new RedisLease({ url: URL, key, ttlMs });
    leases.push(a, b);
    return [a, b, key];
  }

  test('holder ids are hostname:pid:random and differ between leases', () => {
    const [a, b] = pair();
    assert.match(a.id, new RegExp(`:${process.pid}:[0-9a-f]{8}$`));
    assert.notEqual(a.id, b.id);
  });

  test('acquire: one holder at a time, with the ttl set in Redis', async () => {
    const [a, b, key] = pair(1000);
    assert.equal(await a.holder(signal()), null);
    assert.equal(await a.acquire(signal()), true);
    assert.equal(await b.acquire(signal()), false);
    assert.equal(await a.acquire(signal()), true, 'acquiring again as the holder keeps it');
    assert.equal(await b.holder(signal()), a.id);
    const pttl = await admin?.pttl(key);
    assert.ok(pttl !== undefined && pttl > 0 && pttl <= 1000, `pttl ${pttl}`);
  });

  test('renew: only the holder extends the lease', async () => {
    const [a, b, key] = pair(1000);
    assert.equal(await a.renew(signal()), false, 'nobody holds it: nothing to renew');
    assert.equal(await a.acquire(signal()), true);
    await delay(300);
    assert.equal(await b.renew(signal()), false);
    assert.ok(((await admin?.pttl(key)) ?? 0) <= 750, 'a follower renewal changed nothing');
    assert.equal(await a.renew(signal()), true);
    assert.ok(((await admin?.pttl(key)) ?? 0) > 900, 'the holder renewal extended it to a full ttl');
  });

  test('release: only the holder deletes the lease; then another takes it', async () => {
    const [a, b] = pair(1000);
    assert.equal(await a.acquire(signal()), true);
    await b.release();
    assert.equal(await b.holder(signal()), a.id, 'a follower release leaves it alone');
    await a.release();
    assert.equal(await b.holder(signal()), null);
    assert.equal(await b.acquire(signal()), true);
    assert.equal(await a.renew(signal()), false);
  });

  test('expiry: a lease not renewed within its ttl is free for another', async () => {
    const [a, b] = pair(300);
    assert.equal(await a.acquire(signal()), true);
    await delay(150);
    assert.equal(await b.acquire(signal()), false);
    await delay(250);
    assert.equal(await b.acquire(signal()), true);
    assert.equal(await a.renew(signal()), false, 'the old holder cannot renew it back');
  });

  test('an unreachable Redis fails the call, bounded by the signal', async () => {
    const lease = new RedisLease({ url: 'redis://127.0.0.1:1', key: uniqueName('x'), ttlMs: 600 });
    leases.push(lease);
    const started = performance.now();
    await assert.rejects(lease.acquire(AbortSignal.timeout(300)));
    assert.ok(performance.now() - started < 1000);
  });
});
