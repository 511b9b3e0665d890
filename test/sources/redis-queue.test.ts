// End to end: a real Redis queue, real consumer processes (examples/redis-queue/consumer.mjs) run by the
// process back-end, the redis-list source, the planner and the controller, wired by startInstance.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import type { ControllerEvent, ServiceState } from '../../src/core/types.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { eventually, serverGate, TcpProxy, uniqueName } from './servers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/redis-queue/', import.meta.url));
const skip = await serverGate('Redis', 6379);

function config(name: string, key: string, redisPort: number, workMs: number, stateDir: string) {
  return parseConfig(
    JSON.stringify({
      name,
      capacity: { replicas: 6 },
      interval: '100ms',
      scheduler: { type: 'process', stateDir },
      services: {
        worker: {
          priority: 1,
          max: 6,
          scaleDownWindow: '1s',
          run: {
            command: [process.execPath, join(EXAMPLE, 'consumer.mjs')],
            env: { REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_KEY: key, WORK_MS: String(workMs) },
            stopGrace: '2s',
          },
          demand: {
            source: { type: 'redis-list', url: `redis://127.0.0.1:${redisPort}`, key },
            rule: { type: 'target', perReplica: 10 },
          },
        },
        batch: {
          priority: 2,
          scaleDownWindow: '1s',
          run: { command: ['sleep', '600'], stopGrace: '1s' },
          demand: { rule: { type: 'remainder' } },
        },
      },
    }),
    { sourceSchemas, schedulerSchemas, file: 'test.json' },
  );
}

describe('a Redis queue drives real consumers', { skip }, () => {
  let redis: Redis;
  let work: string;
  const keys: string[] = [];
  const instances: Instance[] = [];
  before(() => {
    redis = new Redis('redis://127.0.0.1:6379');
    work = mkdtempSync(join(tmpdir(), 'microscaler-redis-queue-'));
  });
  after(async () => {
    for (const i of instances) await i.close({ drain: true });
    if (keys.length) await redis.del(...keys.flatMap((k) => [k, `${k}:waits`]));
    redis.disconnect();
    rmSync(work, { recursive: true, force: true });
  });

  const start = async (redisPort: number, workMs: number) => {
    const key = uniqueName('ms-test:e2e');
    keys.push(key);
    const name = uniqueName('e2e');
    const instance = await startInstance({
      config: config(name, key, redisPort, workMs, join(work, name)),
      clock: systemClock,
      logger: silentLogger,
      baseDir: work,
    });
    instances.push(instance);
    const service = (n: string) =>
      instance.controller.snapshot().services.find((s) => s.name === n) as ServiceState;
    return { key, instance, service };
  };
  const active = (s: ServiceState) => s.running + s.starting;

  test('the queue grows, consumers scale up within a second, drain it, and scale back', async () => {
    const { key, service } = await start(6379, 20);
    // Idle: no jobs, no consumers; batch has the whole capacity.
    await eventually(
      () => service('batch').running === 6 && active(service('worker')) === 0,
      'batch on all 6',
      15_000,
    );

    await redis.rpush(key, ...Array.from({ length: 300 }, () => String(Date.now())));
    const pushed = Date.now();
    await eventually(() => active(service('worker')) === 6, 'six consumers starting or running', 1000);
    const reacted = Date.now() - pushed;
    assert.ok(reacted <= 1000, `scaled up after ${reacted}ms`);

    // 300 jobs of 20 ms on up to 6 consumers: about a second of work once they run.
    await eventually(async () => (await redis.llen(key)) === 0, 'queue drained', 20_000);
    // The last jobs popped are still being worked on when the list is empty.
    await eventually(
      async () => (await redis.llen(`${key}:waits`)) === 300,
      'every job done by a consumer',
      5000,
    );
    await eventually(
      () => active(service('worker')) === 0 && service('batch').running === 6,
      'scaled back',
      15_000,
    );
  });

  test('when Redis becomes unreachable the consumers hold, the error shows, and it recovers', async () => {
    const proxy = await TcpProxy.start(6379);
    try {
      const { key, instance, service } = await start(proxy.port, 1000);
      const events: ControllerEvent[] = [];
      instance.controller.subscribe((e) => events.push(e));
      await eventually(() => service('batch').running === 6, 'batch on all 6', 15_000);
      await redis.rpush(key, ...Array.from({ length: 40 }, () => String(Date.now())));
      await eventually(() => service('worker').running === 4, 'four consumers (40 jobs / 10)', 15_000);

      await proxy.cut();
      await eventually(() => service('worker').error, 'the error in state', 5000);
      assert.match(service('worker').error ?? '', /redis-list redis:\/\/127\.0\.0\.1:\d+ key/);
      assert.ok(
        events.some((e) => e.kind === 'error' && e.service === 'worker' && /redis-list/.test(e.message)),
      );
      // The consumers keep draining the queue, but with no reading the count holds past the 1 s window.
      const held = Date.now() + 2500;
      while (Date.now() < held) {
        assert.equal(service('worker').desired, 4, 'held while the source fails');
        await new Promise((r) => setTimeout(r, 100));
      }

      await proxy.restore();
      await eventually(() => service('worker').error === undefined, 'the error clears', 8000);
      assert.ok(events.some((e) => e.kind === 'recovered' && e.service === 'worker'));
    } finally {
      await proxy.cut();
    }
  });
});
