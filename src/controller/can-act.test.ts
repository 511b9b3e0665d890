import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import type { ServicePolicy } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

const fixed: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'fixed', replicas: 3 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 0,
};

test('canAct: a controller that may not act still plans, but never scales; it acts once allowed', async () => {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(['web']);
  let allowed = false;
  const controller = new Controller({
    name: 'test',
    capacity: { replicas: 10 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [fixed],
    sources: new Map(),
    scheduler,
    clock,
    logger: silentLogger,
    canAct: () => allowed,
  });
  await controller.tick();
  await flush();
  assert.equal(scheduler.calls.length, 0);
  assert.equal(controller.snapshot().services[0]?.desired, 3, 'a follower still shows the plan');
  // A back-end change (watch) asks for a reconcile; it must not act either.
  assert.equal(await controller.drain(10), false, 'a follower has nothing to drain');
  assert.equal(scheduler.calls.length, 0);

  const second = new Controller({
    name: 'test',
    capacity: { replicas: 10 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [fixed],
    sources: new Map(),
    scheduler,
    clock,
    logger: silentLogger,
    canAct: () => allowed,
  });
  await second.tick();
  await flush();
  assert.equal(scheduler.calls.length, 0);
  allowed = true;
  await second.tick();
  await flush();
  assert.deepEqual(
    scheduler.calls.map((c) => [c.service, c.replicas]),
    [['web', 3]],
  );
  await second.stop();
});
