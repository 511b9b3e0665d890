// High availability end to end: controllers sharing one back-end, elected through a real Redis lease.
// Each promise of docs/reliability.md ("High availability") has its test here.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Controller, Leadership } from '../../src/controller/index.js';
import type { Scheduler, Source } from '../../src/core/ports.js';
import type { ServicePolicy, SourceResult } from '../../src/core/types.js';
import { RedisLease } from '../../src/ha/redis-lease.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { FakeScheduler } from '../fakes/fake-scheduler.js';
import { serverGate, uniqueName } from '../sources/servers.js';

const URL = 'redis://127.0.0.1:6379';
const TTL = 900;
/** Leadership's default margin: the leader stops acting ttl − margin after its last renewal was sent. */
const MARGIN = TTL / 5;
const skip = await serverGate('Redis', 6379);

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'target', perReplica: 1, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 0,
};

/** Demand that changes every 120 ms (1..4 replicas), the same for every instance: there is always work. */
const moving: Source = {
  read: async (): Promise<SourceResult> => {
    const now = Date.now();
    return { ok: true, reading: { value: 1 + (Math.floor(now / 120) % 4), at: now } };
  },
  close: async () => {},
};

interface Call {
  readonly who: string;
  readonly at: number;
  readonly replicas: number;
}

/** One back-end that every instance drives, recording who scaled and when (monotonic ms). */
class SharedBackend {
  readonly fake = new FakeScheduler(['web']);
  readonly calls: Call[] = [];
  constructor() {
    this.fake.instant = true;
  }
  for(who: string): Scheduler {
    return {
      observe: () => this.fake.observe(),
      scale: async (service, replicas, reason) => {
        this.calls.push({ who, at: performance.now(), replicas });
        await this.fake.scale(service, replicas, reason);
      },
      close: async () => {},
    };
  }
  by(who: string): Call[] {
    return this.calls.filter((c) => c.who === who);
  }
}

interface Instance {
  readonly who: string;
  readonly lease: RedisLease;
  readonly leadership: Leadership;
  readonly controller: Controller;
  close(): Promise<void>;
}

function instance(who: string, url: string, key: string, backend: SharedBackend): Instance {
  const lease = new RedisLease({ url, key, ttlMs: TTL });
  const leadership = new Leadership({ lease, ttlMs: TTL, clock: systemClock, logger: silentLogger });
  const controller = new Controller({
    name: 'ha-test',
    capacity: { replicas: 10 },
    intervalMs: 50,
    readTimeoutMs: 500,
    services: [web],
    sources: new Map([['web', moving]]),
    scheduler: backend.for(who),
    clock: systemClock,
    logger: silentLogger,
    canAct: () => leadership.isLeader(),
  });
  leadership.start();
  const loop = controller.start();
  let closed = false;
  return {
    who,
    lease,
    leadership,
    controller,
    async close() {
      if (closed) return;
      closed = true;
      await controller.stop();
      await loop;
      await leadership.stop();
    },
  };
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!ok()) {
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs}ms`);
    await delay(5);
  }
  return performance.now();
}

/** A TCP proxy to Redis that the test can cut: afterwards it drops every byte, both ways, silently. */
async function cuttableProxy(): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    const upstream = createConnection(6379, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
    }
    client.on('data', (d) => cut || upstream.write(d));
    upstream.on('data', (d) => cut || client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      cut = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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
    const a = instance('a', urlA, key, backend);
    open.push(a);
    if (aFirst) await waitFor('a leads', () => a.leadership.isLeader(), 3000);
    const b = instance('b', URL, key, backend);
    open.push(b);
    return { a, b, backend, key };
  }
  const leaderOf = (a: Instance, b: Instance) => (a.leadership.isLeader() ? a : b);

  test('two instances on one config: exactly one leads and only it scales; the follower still plans', async () => {
    const { a, b, backend, key } = await pair();
    await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 2000);
    let both = 0;
    const until = performance.now() + 1500;
    while (performance.now() < until) {
      if (a.leadership.isLeader() && b.leadership.isLeader()) both++;
      await delay(10);
    }
    assert.equal(both, 0, 'never two leaders at once');
    const leader = leaderOf(a, b);
    const follower = leader === a ? b : a;
    assert.ok(backend.by(leader.who).length > 3, 'the leader scaled as demand moved');
    assert.equal(backend.by(follower.who).length, 0, 'the follower never scaled');
    assert.equal(await admin?.get(key), leader.leadership.id);
    assert.deepEqual(follower.leadership.state(), { holder: leader.leadership.id, self: false });
    assert.deepEqual(leader.leadership.state(), { holder: leader.leadership.id, self: true });
    assert.ok((follower.controller.snapshot().services[0]?.desired ?? 0) >= 1, 'the follower shows a plan');
    await Promise.all([a.close(), b.close()]);
  });

  test('a leader that stops cleanly releases the lease: the follower takes over within ttl/3', async () => {
    const { a, b, backend } = await pair();
    await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 2000);
    const leader = leaderOf(a, b);
    const follower = leader === a ? b : a;
    await leader.close();
    const stopped = performance.now();
    const took = await waitFor('take-over', () => follower.leadership.isLeader(), TTL);
    assert.ok(took - stopped <= TTL / 3 + 150, `took ${Math.round(took - stopped)}ms`);
    await waitFor('the new leader scales', () => backend.by(follower.who).some((c) => c.at > took), 1000);
    await follower.close();
  });

  test('a leader whose renewals die (connection gone) is replaced within ttl + ttl/3 and stops acting first', async () => {
    const { a, b, backend } = await pair();
    await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 2000);
    const leader = leaderOf(a, b);
    const follower = leader === a ? b : a;
    // Its lease connection dies; its controller loop keeps running, wanting to scale (the worst case).
    await leader.lease.close();
    const died = performance.now();
    const took = await waitFor('take-over', () => follower.leadership.isLeader(), 2 * TTL);
    assert.ok(took - died <= TTL + TTL / 3 + 150, `took ${Math.round(took - died)}ms`);
    await waitFor('the new leader scales', () => backend.by(follower.who).some((c) => c.at > died), 1000);
    await delay(300);
    const lastOld = Math.max(...backend.by(leader.who).map((c) => c.at));
    const firstNew = Math.min(...backend.by(follower.who).map((c) => c.at));
    assert.ok(lastOld <= died + TTL - MARGIN, `old leader scaled ${Math.round(lastOld - died)}ms after`);
    assert.ok(lastOld < firstNew, 'the old leader stopped acting before the new one started');
    assert.equal(leader.leadership.isLeader(), false);
    await Promise.all([a.close(), b.close()]);
  });

  test('a leader cut off from Redis (silent network) stops acting before its lease can expire', async () => {
    const proxy = await cuttableProxy();
    try {
      // a reaches Redis through the proxy, and leads before b starts.
      const { a, b, backend, key } = await pair(proxy.url, true);
      await delay(400);
      assert.equal(b.leadership.isLeader(), false);
      proxy.cut();
      const cut = performance.now();
      await waitFor('b takes over', () => b.leadership.isLeader(), 2 * TTL);
      const took = performance.now();
      assert.ok(took - cut <= TTL + TTL / 3 + 150, `took ${Math.round(took - cut)}ms`);
      assert.equal(await admin?.get(key), b.leadership.id);
      await waitFor('b scales', () => backend.by('b').length > 0, 1000);
      await delay(300);
      const lastA = Math.max(...backend.by('a').map((c) => c.at));
      const firstB = Math.min(...backend.by('b').map((c) => c.at));
      assert.ok(backend.by('a').length > 0, 'a acted while it led');
      assert.ok(lastA <= cut + TTL - MARGIN, `a scaled ${Math.round(lastA - cut)}ms after the cut`);
      assert.ok(lastA < firstB);
      assert.equal(a.leadership.isLeader(), false, 'a, still cut off, does not act');
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.close();
    }
  });
});
