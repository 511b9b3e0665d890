// The controller with a live capacity (issue 15): nothing planned before a first reading, a shrink gives way
// by priority, failures and implausible drops hold and are reported, and, as a property with capacity
// moving at random every tick, what occupies capacity never exceeds the capacity in force once the stops
// issued for it have finished, and no higher priority is short while a lower one holds more than its min.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import type { CapacitySource, Source } from '../core/ports.js';
import type { Capacity, ControllerEvent, ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

class Demand implements Source {
  value = 0;
  constructor(private readonly clock: ManualClock) {}
  async read(): Promise<SourceResult> {
    return { ok: true, reading: { value: this.value, at: this.clock.now() } };
  }
  async close(): Promise<void> {}
}

/** A capacity the test sets: a value with its reason, or a failure. */
class TestCapacity implements CapacitySource {
  next: { capacity: Capacity; why?: string } | Error = new Error('not set');
  reads = 0;
  async read(): Promise<{ capacity: Capacity; why?: string }> {
    this.reads++;
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
  async close(): Promise<void> {}
}

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 1,
  max: 30,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};
const batch: ServicePolicy = { ...web, name: 'batch', priority: 2, min: 0, rule: { type: 'remainder' } };

function setup(confirmMs = 30_000, everyMs = 0) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(['web', 'batch']);
  const demand = new Demand(clock);
  const capacity = new TestCapacity();
  const events: ControllerEvent[] = [];
  const controller = new Controller({
    name: 'test',
    capacity: { replicas: 1 },
    capacitySource: capacity,
    capacityConfirmMs: confirmMs,
    capacityEveryMs: everyMs,
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web, batch],
    sources: new Map([['web', demand]]),
    scheduler,
    clock,
    logger: silentLogger,
  });
  controller.subscribe((e) => events.push(e));
  /** A tick, then every start and stop done, and the clock past the tick. */
  const tick = async () => {
    await controller.tick();
    await flush();
    scheduler.finishStops();
    scheduler.finishStarts();
    await flush();
    await clock.advance(100);
  };
  const running = () => ({ web: scheduler.count('web').running, batch: scheduler.count('batch').running });
  return { clock, scheduler, demand, capacity, controller, events, tick, running };
}

describe('live capacity', () => {
  test('nothing is planned until a first reading is taken; the failure is in the snapshot', async () => {
    const { capacity, controller, scheduler, tick, running, demand } = setup();
    demand.value = 30;
    capacity.next = new Error('GET /nodes: connect ECONNREFUSED');
    await tick();
    assert.equal(scheduler.calls.length, 0);
    assert.match(
      controller.snapshot().capacityError ?? '',
      /ECONNREFUSED; nothing is planned until a reading succeeds/,
    );
    capacity.next = { capacity: { replicas: 20 } };
    await tick();
    await tick();
    assert.deepEqual(running(), { web: 3, batch: 17 });
    assert.equal(controller.snapshot().capacity.replicas, 20);
    assert.equal(controller.snapshot().capacityError, undefined);
  });

  test('a shrink gives way lowest priority first, told with its reason; a rise is taken at once', async () => {
    const { capacity, controller, tick, running, demand, events } = setup();
    demand.value = 80;
    capacity.next = { capacity: { replicas: 20 } };
    await tick();
    await tick();
    assert.deepEqual(running(), { web: 8, batch: 12 });
    capacity.next = { capacity: { replicas: 14 }, why: 'node n3 not ready' };
    await tick();
    await tick();
    assert.deepEqual(running(), { web: 8, batch: 6 });
    assert.ok(events.some((e) => e.message === 'capacity 20 replicas → 14 replicas: node n3 not ready'));
    const live = controller.log.recent();
    assert.ok(live.some((e) => e.kind === 'capacity' && e.from === 20 && e.to === 14));
    capacity.next = { capacity: { replicas: 10 }, why: 'node n4 not ready' };
    demand.value = 120;
    await tick();
    await tick();
    assert.deepEqual(running(), { web: 10, batch: 0 }, 'web takes what is left, batch none');
    capacity.next = { capacity: { replicas: 24 }, why: 'nodes n3, n4 ready' };
    await tick();
    await tick();
    assert.deepEqual(running(), { web: 12, batch: 12 });
  });

  test('a failing reading holds the last good capacity, reported once, and recovers', async () => {
    const { capacity, controller, tick, running, demand, events } = setup();
    demand.value = 30;
    capacity.next = { capacity: { replicas: 20 } };
    await tick();
    await tick();
    capacity.next = new Error('GET /nodes: HTTP 503');
    for (let i = 0; i < 5; i++) await tick();
    assert.deepEqual(running(), { web: 3, batch: 17 }, 'held, nothing stopped');
    assert.equal(events.filter((e) => e.kind === 'error').length, 1, 'reported once');
    assert.match(controller.snapshot().capacityError ?? '', /HTTP 503; holding 20 replicas/);
    capacity.next = { capacity: { replicas: 20 } };
    await tick();
    assert.equal(controller.snapshot().capacityError, undefined);
    assert.ok(events.some((e) => e.kind === 'recovered' && /^capacity: recovered/.test(e.message)));
  });

  test('a drop to less than half waits for the confirm time; an empty node list (0) never stops anything', async () => {
    const { capacity, tick, running, demand } = setup(1000);
    demand.value = 30;
    capacity.next = { capacity: { replicas: 20 } };
    await tick();
    await tick();
    capacity.next = { capacity: { replicas: 0 }, why: 'no node ready' };
    for (let i = 0; i < 30; i++) await tick();
    assert.deepEqual(running(), { web: 3, batch: 17 });
    capacity.next = { capacity: { replicas: 6 } };
    for (let i = 0; i < 5; i++) await tick();
    assert.deepEqual(running(), { web: 3, batch: 17 }, 'not yet: 0.5 s of 1 s');
    for (let i = 0; i < 8; i++) await tick();
    assert.deepEqual(running(), { web: 3, batch: 3 });
  });

  test('read at most once per capacityEveryMs, however often the ticks come', async () => {
    const { capacity, tick, demand } = setup(30_000, 500);
    demand.value = 10;
    capacity.next = { capacity: { replicas: 20 } };
    for (let i = 0; i < 20; i++) await tick(); // 2 s of 100 ms ticks
    assert.equal(capacity.reads, 4);
  });

  test('property: capacity moving at random, the promises hold against the capacity in force', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 400 }), fc.boolean()), {
          minLength: 1,
          maxLength: 25,
        }),
        async (steps) => {
          const { capacity, controller, tick, scheduler, demand } = setup(0);
          for (const [replicas, value, fails] of steps) {
            capacity.next = fails ? new Error('flaky') : { capacity: { replicas } };
            demand.value = value;
            await tick();
            await tick(); // the stops issued for a shrink have finished, and what they freed is used
            const inForce = controller.snapshot().capacity.replicas;
            const w = scheduler.count('web');
            const b = scheduler.count('batch');
            const occupied = w.running + w.starting + w.stopping + b.running + b.starting + b.stopping;
            assert.ok(occupied <= inForce, `${occupied} occupy a capacity of ${inForce}`);
            const webWants = Math.min(Math.max(Math.ceil(value / 10), web.min), web.max);
            if (w.running < Math.min(webWants, inForce)) {
              assert.equal(
                b.running,
                0,
                `batch holds ${b.running} while web has ${w.running} of ${webWants}`,
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
