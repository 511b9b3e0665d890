// Helpers for the high-availability tests: controllers that share one fake back-end, each elected through
// its own Lease (any store), a TCP proxy that can silence a connection, and the failover checks every store
// must pass (docs/reliability.md, "High availability").
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Controller, Leadership, type Lease } from '../../src/controller/index.js';
import type { Scheduler, Source } from '../../src/core/ports.js';
import type { ServicePolicy, SourceResult } from '../../src/core/types.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { FakeScheduler } from '../fakes/fake-scheduler.js';

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
export class SharedBackend {
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

export interface Instance {
  readonly who: string;
  readonly lease: Lease;
  readonly leadership: Leadership;
  readonly controller: Controller;
  close(): Promise<void>;
}

/** A controller that scales only while its Leadership (over `lease`) leads. */
export function instance(who: string, lease: Lease, ttlMs: number, backend: SharedBackend): Instance {
  const leadership = new Leadership({ lease, ttlMs, clock: systemClock, logger: silentLogger });
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

export async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!ok()) {
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs}ms`);
    await delay(5);
  }
  return performance.now();
}

/** A TCP proxy to a local port that the test can cut: afterwards it drops every byte, both ways, silently. */
export async function cuttableProxy(
  target: number,
): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return; // new connections are accepted and then ignored, as by a dead route
    const upstream = createConnection(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
    }
    client.on('data', (d) => cut || upstream.write(d));
    upstream.on('data', (d) => cut || client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      cut = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const leaderOf = (a: Instance, b: Instance): Instance => (a.leadership.isLeader() ? a : b);
export const otherOf = (x: Instance, a: Instance, b: Instance): Instance => (x === a ? b : a);

/** Promise 1: for 1.5 s, never two leaders; only the leader scales; the follower still plans. */
export async function expectOneActs(a: Instance, b: Instance, backend: SharedBackend): Promise<Instance> {
  await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 3000);
  let both = 0;
  const until = performance.now() + 1500;
  while (performance.now() < until) {
    if (a.leadership.isLeader() && b.leadership.isLeader()) both++;
    await delay(10);
  }
  assert.equal(both, 0, 'never two leaders at once');
  const leader = leaderOf(a, b);
  const follower = otherOf(leader, a, b);
  assert.ok(backend.by(leader.who).length > 3, 'the leader scaled as demand moved');
  assert.equal(backend.by(follower.who).length, 0, 'the follower never scaled');
  assert.deepEqual(follower.leadership.state(), { holder: leader.leadership.id, self: false });
  assert.deepEqual(leader.leadership.state(), { holder: leader.leadership.id, self: true });
  assert.ok((follower.controller.snapshot().services[0]?.desired ?? 0) >= 1, 'the follower shows a plan');
  return leader;
}

/** Promise 2: a leader that stops cleanly hands over within ttl/3 (+ slack for a loaded machine). */
export async function expectCleanHandOver(
  a: Instance,
  b: Instance,
  backend: SharedBackend,
  ttlMs: number,
): Promise<void> {
  await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 3000);
  const leader = leaderOf(a, b);
  const follower = otherOf(leader, a, b);
  await leader.close();
  const stopped = performance.now();
  const took = await waitFor('take-over', () => follower.leadership.isLeader(), ttlMs);
  assert.ok(took - stopped <= ttlMs / 3 + 150, `took ${Math.round(took - stopped)}ms`);
  await waitFor('the new leader scales', () => backend.by(follower.who).some((c) => c.at > took), 1000);
}

/**
 * Promises 2 and 3 after `leader` lost its store at `lostAt` (monotonic ms): the follower leads within
 * ttl + ttl/3 (+ slack); the old leader's last scale call came at most ttl − margin after the loss, and
 * before the new leader's first.
 */
export async function expectFencedFailover(
  leader: Instance,
  follower: Instance,
  backend: SharedBackend,
  lostAt: number,
  ttlMs: number,
): Promise<void> {
  const margin = ttlMs / 5; // Leadership's default
  const took = await waitFor('take-over', () => follower.leadership.isLeader(), 2 * ttlMs + 500);
  assert.ok(took - lostAt <= ttlMs + ttlMs / 3 + 150, `took ${Math.round(took - lostAt)}ms`);
  await waitFor('the new leader scales', () => backend.by(follower.who).some((c) => c.at > lostAt), 1000);
  await delay(300);
  assert.ok(backend.by(leader.who).length > 0, 'the old leader acted while it led');
  const lastOld = Math.max(...backend.by(leader.who).map((c) => c.at));
  const firstNew = Math.min(...backend.by(follower.who).map((c) => c.at));
  assert.ok(lastOld <= lostAt + ttlMs - margin, `old leader scaled ${Math.round(lastOld - lostAt)}ms after`);
  assert.ok(lastOld < firstNew, 'the old leader stopped acting before the new one started');
  assert.equal(leader.leadership.isLeader(), false, 'the old leader, still cut off, does not act');
}
