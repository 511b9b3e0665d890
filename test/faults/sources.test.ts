// Source faults against real servers: Redis down (connection refused, or a connection dropped by a proxy),
// a slow source (answers after readTimeout), nonsense (non-JSON, NaN, Infinity, negative, huge, strings,
// missing fields; a Redis key of the wrong type). Each holds its service at the replicas it runs (never to
// zero, never to min for want of data), shows in state, events, metrics and logs, and recovers: the fault
// clears, an event says so, and the service scales again.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Source } from '../../src/core/ports.js';
import type { ServicePolicy } from '../../src/core/types.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { createSource } from '../../src/sources/registry.js';
import { FakeScheduler } from '../fakes/fake-scheduler.js';
import { closedPort, liveContext, serverGate, TcpProxy, uniqueName } from '../sources/servers.js';
import { assertSourceFault, assertSourceRecovered, type Rig, rig, service, until } from './harness.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 1,
  max: 10,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 300,
};
const batch: ServicePolicy = { ...web, name: 'batch', priority: 2, min: 0, rule: { type: 'remainder' } };
const CAPACITY = 10;
/** Longer than the scale-down window and several read timeouts: time enough to misbehave. */
const OUTAGE_MS = 900;

/**
 * A real loop (20 ms ticks, 250 ms read timeout) on the given source for web, with web already running
 * `running` replicas when it starts (as after a restart) and batch taking the rest.
 */
async function instance(source: Source, running: number) {
  const scheduler = new FakeScheduler(['web', 'batch']);
  scheduler.instant = true;
  await scheduler.scale('web', running, 'already running');
  const r: Rig = await rig({
    capacity: { replicas: CAPACITY },
    intervalMs: 20,
    readTimeoutMs: 250,
    services: [web, batch],
    sources: new Map([['web', source]]),
    scheduler,
    clock: systemClock,
  });
  // Stopping replicas go at once too, so preempted capacity reaches the service that needs it.
  const reaper = setInterval(() => scheduler.finishStops(), 10);
  const loop = r.controller.start();
  const active = (name: string) => scheduler.count(name).running + scheduler.count(name).starting;
  return {
    ...r,
    scheduler,
    active,
    /** During a fault: web stays at n the whole time, and capacity holds. */
    async holds(n: number) {
      const end = Date.now() + OUTAGE_MS;
      while (Date.now() < end) {
        assert.equal(active('web'), n, 'web held at its count');
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(scheduler.peak <= CAPACITY, `peak ${scheduler.peak}`);
    },
    async close() {
      clearInterval(reaper);
      await r.close();
      await loop;
      await source.close();
    },
  };
}

const redisMissing = await serverGate('Redis', 6379);

describe('redis source faults', { skip: redisMissing, timeout: 30_000 }, () => {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  const key = uniqueName('faults-jobs');
  before(() => redis.connect());
  after(async () => {
    await redis.del(key);
    redis.disconnect();
  });
  const listSource = (port: number) =>
    createSource(
      { type: 'redis-list', url: `redis://127.0.0.1:${port}`, key, timeout: '200ms' },
      liveContext(),
    );

  test('down from the start (connection refused): held at what runs, not min; reported; recovers when it listens', async () => {
    await redis.del(key);
    await redis.rpush(key, ...Array.from({ length: 60 }, (_, i) => `job${i}`));
    const port = await closedPort();
    const i = await instance(await listSource(port), 4);
    const proxy = new TcpProxy(6379);
    try {
      await until(async () => service(await i.view(), 'web').error, 'the fault reported');
      await i.holds(4);
      assertSourceFault(await i.view(), 'web', /ECONNREFUSED|connect|refused/i);
      proxy.port = port; // the server comes up on the configured port
      await proxy.restore();
      await until(() => i.active('web') === 6, 'web scales to its need (60 / 10)');
      assertSourceRecovered(await i.view(), 'web');
    } finally {
      await i.close();
      await proxy.cut();
    }
  });

  test('a connection dropped by the network (proxy cut), then a key of the wrong type: held, reported, recovered', async () => {
    await redis.del(key);
    await redis.rpush(key, ...Array.from({ length: 30 }, (_, i) => `job${i}`));
    const proxy = await TcpProxy.start(6379);
    const i = await instance(await listSource(proxy.port), 1);
    try {
      await until(() => i.active('web') === 3, 'web at 3');
      await proxy.cut();
      await redis.rpush(key, 'more'); // demand changes while nobody can see it: nothing may act on it
      await until(async () => service(await i.view(), 'web').error, 'the drop reported');
      await i.holds(3);
      assertSourceFault(await i.view(), 'web', /redis-list/);
      await proxy.restore();
      await until(async () => service(await i.view(), 'web').error === undefined, 'recovered');
      assertSourceRecovered(await i.view(), 'web');

      // Someone overwrites the queue with a string: LLEN fails with WRONGTYPE.
      await redis.del(key);
      await redis.set(key, 'not a list');
      await until(async () => service(await i.view(), 'web').error, 'the wrong type reported');
      await i.holds(4);
      assertSourceFault(await i.view(), 'web', /WRONGTYPE|wrong (kind|type)/i);
      await redis.del(key);
      await redis.rpush(key, ...Array.from({ length: 80 }, (_, n) => `job${n}`));
      await until(() => i.active('web') === 8, 'scales again');
      assertSourceRecovered(await i.view(), 'web');
    } finally {
      await i.close();
      await proxy.cut();
    }
  });
});

describe('http source faults', { timeout: 30_000 }, () => {
  /** What the server answers: a body (sent as JSON unless raw), after a delay. */
  let answer: { body: string; delayMs: number; type: string } = {
    body: '{"load":{"value":40}}',
    delayMs: 0,
    type: 'application/json',
  };
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((_req, res) => {
      const { body, delayMs, type } = answer;
      const t = setTimeout(() => res.writeHead(200, { 'content-type': type }).end(body), delayMs);
      res.on('close', () => clearTimeout(t));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/load`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const healthy = (value: number) => {
    answer = { body: JSON.stringify({ load: { value } }), delayMs: 0, type: 'application/json' };
  };
  const httpSource = () => createSource({ type: 'http', url, path: 'load.value' }, liveContext());

  test('slow (answers after readTimeout): held, reported as a timeout, recovers', async () => {
    healthy(40);
    const i = await instance(await httpSource(), 1);
    try {
      await until(() => i.active('web') === 4, 'web at 4');
      answer = { ...answer, delayMs: 1500, body: JSON.stringify({ load: { value: 0 } }) };
      await until(async () => service(await i.view(), 'web').error, 'the timeout reported');
      await i.holds(4);
      assertSourceFault(await i.view(), 'web', /no answer within 250ms/);
      healthy(70);
      await until(() => i.active('web') === 7, 'scales again');
      assertSourceRecovered(await i.view(), 'web');
    } finally {
      await i.close();
    }
  });

  test('nonsense answers of every kind: held throughout, each reported, recovers', async () => {
    healthy(50);
    const i = await instance(await httpSource(), 1);
    const nonsense: [string, string, RegExp][] = [
      ['<html>busy</html>', 'text/html', /not JSON/],
      ['{"load":{"value":"NaN"}}', 'application/json', /"NaN", not a number/],
      ['{"load":{"value":1e999}}', 'application/json', /not a finite number/],
      ['{"load":{"value":-5}}', 'application/json', /cannot be negative/],
      ['{"load":{"value":1e300}}', 'application/json', /beyond any real demand/],
      ['{"load":{"value":"many"}}', 'application/json', /"many", not a number/],
      ['{"load":{}}', 'application/json', /path "load.value" not found/],
      ['{"load":{"value":null}}', 'application/json', /null, not a number/],
      ['', 'application/json', /not JSON/],
    ];
    try {
      await until(() => i.active('web') === 5, 'web at 5');
      for (const [body, type, pattern] of nonsense) {
        answer = { body, delayMs: 0, type };
        await until(
          async () => pattern.test(service(await i.view(), 'web').error ?? ''),
          `reported: ${body}`,
          5000,
        );
        assert.equal(i.active('web'), 5, `held at 5 under ${body}`);
      }
      await i.holds(5);
      assertSourceFault(await i.view(), 'web', /null, not a number|not JSON/);
      healthy(20);
      await until(() => i.active('web') === 2, 'scales again (down, after its window)');
      assertSourceRecovered(await i.view(), 'web');
      assert.ok(i.scheduler.peak <= CAPACITY);
    } finally {
      await i.close();
    }
  });
});
