import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import type { Source } from '../core/ports.js';
import type { ControllerEvent, ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};
const batch: ServicePolicy = { ...web, name: 'batch', priority: 2, rule: { type: 'remainder' } };

const fixed = (value: number): Source => ({
  read: (): Promise<SourceResult> => Promise.resolve({ ok: true, reading: { value, at: 0 } }),
  close: async () => {},
});

/** A back-end that still runs 4 replicas of "old", a service the config (web, batch) no longer has. */
async function setup(keepRemoved: boolean) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(['web', 'batch', 'old']);
  await scheduler.scale('old', 4, 'started by an earlier config');
  scheduler.finishStarts();
  scheduler.calls.length = 0;
  const events: ControllerEvent[] = [];
  const controller = new Controller({
    name: 'removed-test',
    capacity: { replicas: 6 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web, batch],
    sources: new Map([['web', fixed(40)]]),
    scheduler,
    clock,
    logger: silentLogger,
    keepRemoved,
  });
  controller.subscribe((e) => events.push(e));
  const tick = async () => {
    await controller.tick();
    await flush();
    await clock.advance(100);
  };
  return { clock, scheduler, controller, events, tick };
}

describe('replicas of a service removed from the config', () => {
  test('count against capacity and are stopped', async () => {
    const { scheduler, controller, events, tick } = await setup(false);
    await tick();
    assert.ok(scheduler.peak <= 6, `peak ${scheduler.peak} exceeds capacity 6`);
    assert.deepEqual(
      scheduler.calls.filter((c) => c.service === 'old').map((c) => c.replicas),
      [0],
      'one call stops them',
    );
    assert.equal(scheduler.count('old').stopping, 4);
    assert.equal(controller.snapshot().capacity.used, 6);
    assert.deepEqual(controller.snapshot().removed, [{ name: 'old', replicas: 4, kept: false }]);
    assert.ok(events.some((e) => e.service === 'old' && /not in the config/.test(e.message)));
    for (let i = 0; i < 4; i++) {
      scheduler.finishStops(1, 'old');
      await flush();
      scheduler.finishStarts();
      await tick();
      assert.ok(scheduler.peak <= 6, `peak ${scheduler.peak} exceeds capacity 6`);
    }
    assert.deepEqual(scheduler.count('old'), { running: 0, starting: 0, stopping: 0 });
    assert.equal(scheduler.count('web').running, 4);
    assert.equal(scheduler.count('batch').running, 2);
    assert.equal(controller.snapshot().removed, undefined);
    assert.equal(scheduler.calls.filter((c) => c.service === 'old').length, 1, 'never asked again');
    await controller.stop();
  });

  test('kept with keepRemoved (run --keep-removed), still counted against capacity', async () => {
    const { clock, scheduler, controller, events, tick } = await setup(true);
    for (let i = 0; i < 5; i++) {
      await tick();
      scheduler.finishStarts();
    }
    await tick();
    assert.ok(scheduler.peak <= 6, `peak ${scheduler.peak} exceeds capacity 6`);
    assert.equal(scheduler.calls.filter((c) => c.service === 'old').length, 0, 'never stopped');
    assert.equal(scheduler.count('old').running, 4);
    assert.equal(scheduler.count('web').running, 2);
    assert.equal(scheduler.count('batch').running, 0);
    const state = controller.snapshot();
    assert.equal(state.capacity.used, 6);
    assert.deepEqual(state.removed, [{ name: 'old', replicas: 4, kept: true }]);
    assert.ok(events.some((e) => /scale up web 0→2: .*capacity allows 2 of 4/.test(e.message)));
    assert.ok(events.some((e) => e.service === 'old' && /kept running \(--keep-removed\)/.test(e.message)));
    // Stopping on exit does not wait for replicas that are kept.
    const drained = controller.drain(5_000);
    await flush();
    scheduler.finishStops();
    await clock.advance(100);
    assert.equal(await drained, true);
    assert.equal(scheduler.count('old').running, 4);
  });
});
