// Pressure out to VM autoscaling through the real controller (fake back-end, manual clock): the signals in
// the snapshot, one request once unmet need has lasted its window, none in the cooldown, a failing target
// reported, and whole idle nodes offered back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import type { AutoscaleTarget, Source } from '../core/ports.js';
import type { CapacityAsk, ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

const res = { cpu: 1, memory: 2 ** 30 };
const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 1,
  max: 40,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: res,
  scaleDownWindowMs: 1000,
};
const batch: ServicePolicy = { ...web, name: 'batch', priority: 2, min: 0, rule: { type: 'remainder' } };

class Demand implements Source {
  value = 0;
  constructor(private readonly clock: ManualClock) {}
  async read(): Promise<SourceResult> {
    return { ok: true, reading: { value: this.value, at: this.clock.now() } };
  }
  async close(): Promise<void> {}
}

class Target implements AutoscaleTarget {
  readonly asks: CapacityAsk[] = [];
  fail: Error | undefined;
  async ask(_instance: string, request: CapacityAsk): Promise<void> {
    this.asks.push(request);
    if (this.fail) throw this.fail;
  }
  async close(): Promise<void> {}
}

function setup() {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(['web', 'batch']);
  scheduler.instant = true;
  const demand = new Demand(clock);
  const target = new Target();
  const controller = new Controller({
    name: 'shop',
    capacity: { replicas: 10, cpu: 10, memory: 10 * 2 ** 30 },
    intervalMs: 1000,
    readTimeoutMs: 1000,
    services: [web, batch],
    sources: new Map([['web', demand]]),
    scheduler,
    clock,
    logger: silentLogger,
    pressure: {
      target,
      scaleOutAfterMs: 5000,
      scaleInAfterMs: 20_000,
      cooldownMs: 30_000,
      maxStep: 2,
      node: { cpu: 4, memory: 4 * 2 ** 30 },
    },
  });
  const events: string[] = [];
  controller.subscribe((e) => events.push(`${e.kind} ${e.message}`));
  const seconds = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await controller.tick();
      await flush();
      await clock.advance(1000);
    }
  };
  return { controller, demand, target, seconds, events };
}

describe('pressure watch', () => {
  test('unmet need is shown at once, asked for only once it has lasted its window, then not in the cooldown', async () => {
    const { controller, demand, target, seconds } = setup();
    demand.value = 150; // web needs 15, capacity holds 10
    await seconds(1);
    const p = controller.snapshot().pressure;
    assert.deepEqual(p?.unmet, { replicas: 5, cpu: 5, memory: 5 * 2 ** 30 });
    assert.deepEqual(p?.sustainedUnmet, { replicas: 0, cpu: 0, memory: 0 });
    await seconds(4);
    assert.equal(target.asks.length, 0, 'not before 5 s');
    await seconds(2);
    assert.equal(target.asks.length, 1);
    assert.deepEqual([target.asks[0]?.direction, target.asks[0]?.nodes], ['out', 2]);
    assert.equal(controller.snapshot().pressure?.lastAsk?.outcome, 'taken');
    await seconds(25);
    assert.equal(target.asks.length, 1, 'cooldown');
    await seconds(6);
    assert.equal(target.asks.length, 2, 'still unmet after the cooldown: asked again');
  });

  test('a spike shorter than the window never asks', async () => {
    const { demand, target, seconds } = setup();
    for (let i = 0; i < 5; i++) {
      demand.value = 150;
      await seconds(3);
      demand.value = 50;
      await seconds(1);
    }
    assert.equal(target.asks.length, 0);
  });

  test('a failing target is reported once, and the next request after the cooldown clears it', async () => {
    const { demand, target, seconds, events, controller } = setup();
    target.fail = new Error('HTTP 503');
    demand.value = 150;
    await seconds(7);
    assert.equal(target.asks.length, 1);
    assert.equal(events.filter((e) => e.startsWith('error autoscale:')).length, 1);
    assert.match(controller.snapshot().pressure?.lastAsk?.outcome ?? '', /^failed: HTTP 503/);
    target.fail = undefined;
    await seconds(31);
    assert.ok(events.some((e) => e.startsWith('recovered autoscale: recovered')));
  });

  test('whole idle nodes held only by batch are offered back once that lasted its window', async () => {
    const { demand, target, seconds, controller } = setup();
    demand.value = 10; // web 1; batch soaks up 9: idle in the sense of VM autoscaling
    await seconds(21);
    assert.deepEqual(controller.snapshot().pressure?.idle, { replicas: 9, cpu: 9, memory: 9 * 2 ** 30 });
    assert.equal(target.asks.length, 1);
    assert.deepEqual([target.asks[0]?.direction, target.asks[0]?.nodes], ['in', 2]);
  });
});
