import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import type { Source } from '../core/ports.js';
import type { ControllerEvent, ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

/** A source whose value the test sets; `hang` makes reads never answer, `fail` makes them fail. */
class TestSource implements Source {
  value = 0;
  fail: string | undefined;
  hang = false;
  reads = 0;
  constructor(private readonly clock: ManualClock) {}
  read(signal: AbortSignal): Promise<SourceResult> {
    this.reads++;
    if (this.hang)
      return new Promise((resolve) =>
        signal.addEventListener('abort', () => resolve({ ok: false, error: 'aborted' })),
      );
    if (this.fail) return Promise.resolve({ ok: false, error: this.fail });
    return Promise.resolve({ ok: true, reading: { value: this.value, at: this.clock.now() } });
  }
  async close(): Promise<void> {}
}

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 1,
  max: 19,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};
const batch: ServicePolicy = {
  name: 'batch',
  priority: 2,
  min: 0,
  max: 20,
  rule: { type: 'remainder' },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};

function setup(services = [web, batch], capacity = 20) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(services.map((s) => s.name));
  const source = new TestSource(clock);
  const events: ControllerEvent[] = [];
  const controller = new Controller({
    name: 'test',
    capacity: { replicas: capacity },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services,
    sources: new Map([['web', source]]),
    scheduler,
    clock,
    logger: silentLogger,
  });
  controller.subscribe((e) => events.push(e));
  /** A tick, with the clock moved past it. */
  const tick = async () => {
    await controller.tick();
    await flush();
    await clock.advance(100);
  };
  return { clock, scheduler, source, controller, events, tick };
}

describe('controller', () => {
  test('fills capacity: priority-1 at its need, priority-2 takes the rest', async () => {
    const { scheduler, source, tick, controller } = setup();
    source.value = 45;
    await tick();
    scheduler.finishStarts();
    await tick();
    assert.deepEqual(scheduler.count('web'), { running: 5, starting: 0, stopping: 0 });
    assert.deepEqual(scheduler.count('batch'), { running: 15, starting: 0, stopping: 0 });
    const state = controller.snapshot();
    assert.equal(state.capacity.used, 20);
    assert.deepEqual(
      state.services.map((s) => [s.name, s.value, s.need, s.desired, s.running]),
      [
        ['web', 45, 5, 5, 5],
        ['batch', null, 20, 15, 15],
      ],
    );
  });

  test('preemption: capacity is never exceeded, each freed slot goes to priority-1 at once, batch is not refilled', async () => {
    const { scheduler, source, tick } = setup();
    source.value = 0;
    await tick();
    scheduler.finishStarts();
    await tick();
    assert.equal(scheduler.count('web').running, 1);
    assert.equal(scheduler.count('batch').running, 19);
    const batchStarts = scheduler.starts.get('batch');

    source.value = 190; // web needs 19
    await tick();
    assert.deepEqual(scheduler.count('batch'), { running: 1, starting: 0, stopping: 18 });
    assert.equal(scheduler.count('web').starting, 0, 'web must wait for the stops');
    // each batch replica that finishes stopping lets one web replica start, without a tick
    for (let i = 1; i <= 18; i++) {
      scheduler.finishStops(1, 'batch');
      await flush();
      assert.equal(scheduler.count('web').starting, i, `after ${i} stops`);
    }
    scheduler.finishStarts();
    await tick();
    assert.equal(scheduler.count('web').running, 19);
    assert.equal(scheduler.count('batch').running, 1);
    assert.equal(scheduler.peak, 20, 'never more than capacity');
    assert.equal(scheduler.starts.get('batch'), batchStarts, 'batch was not refilled');
  });

  test('scale-down waits for the window; then batch gets the capacity back', async () => {
    const { scheduler, source, tick, clock } = setup();
    source.value = 100;
    await tick();
    scheduler.finishStarts();
    source.value = 20;
    await tick();
    assert.equal(scheduler.count('web').running, 10, 'not yet');
    await clock.advance(1000);
    await tick();
    assert.deepEqual(scheduler.count('web'), { running: 2, starting: 0, stopping: 8 });
    scheduler.finishStops();
    await flush();
    assert.equal(scheduler.count('batch').starting, 8);
    assert.equal(scheduler.peak, 20);
  });

  test('a failing source holds the service and is reported once, then recovers', async () => {
    const { scheduler, source, tick, events, controller } = setup();
    source.value = 60;
    await tick();
    scheduler.finishStarts();
    source.fail = 'connection refused';
    for (let i = 0; i < 30; i++) await tick();
    assert.equal(scheduler.count('web').running, 6);
    assert.equal(controller.snapshot().services[0]?.error, 'connection refused');
    assert.equal(events.filter((e) => e.kind === 'error').length, 1);
    source.fail = undefined;
    await tick();
    assert.equal(events.filter((e) => e.kind === 'recovered').length, 1);
  });

  test('a source that never answers times out and holds; it does not delay the tick', async () => {
    const { scheduler, source, controller, clock } = setup();
    source.value = 30;
    await controller.tick();
    scheduler.finishStarts();
    source.hang = true;
    // the tick finishes after one interval even though the read is still running
    let done = false;
    const t = controller.tick().then(() => {
      done = true;
    });
    await flush();
    assert.equal(done, false);
    await clock.advance(100);
    await t;
    assert.equal(done, true);
    assert.equal(source.reads, 2);
    await clock.advance(500);
    const again = controller.tick();
    await flush();
    await clock.advance(100);
    await again;
    assert.equal(source.reads, 2, 'no second read while one is in flight');
    await clock.advance(400);
    const third = controller.tick();
    await flush();
    await clock.advance(100); // a new read starts, hangs too, and the tick moves on without it
    await third;
    const state = controller.snapshot().services[0];
    assert.match(state?.error ?? '', /no answer within 1000ms/);
    assert.equal(state?.desired, 3);
    assert.equal(scheduler.count('web').running, 3);
  });

  test('back-end errors are retried with backoff and reported', async () => {
    const { scheduler, source, tick, events, clock } = setup([web]);
    source.value = 50;
    scheduler.failures = [new Error('engine down'), new Error('engine down')];
    await tick();
    assert.equal(scheduler.count('web').starting, 0);
    assert.match(events.find((e) => e.kind === 'error')?.message ?? '', /engine down \(retrying in 100ms\)/);
    await clock.advance(100); // first retry fails: 200 ms
    await flush();
    assert.equal(scheduler.calls.length, 2);
    await clock.advance(200);
    await flush();
    assert.equal(scheduler.count('web').starting, 5);
    assert.ok(events.some((e) => e.kind === 'recovered'));
  });

  test('a replica that dies is replaced at once', async () => {
    const { scheduler, source, tick } = setup([web]);
    source.value = 30;
    await tick();
    scheduler.finishStarts();
    scheduler.crash('web');
    await flush();
    assert.deepEqual(scheduler.count('web'), { running: 2, starting: 1, stopping: 0 });
  });

  test('drain stops everything', async () => {
    const { scheduler, source, tick, controller, clock } = setup();
    source.value = 30;
    await tick();
    scheduler.finishStarts();
    const drained = controller.drain(5000);
    await flush();
    scheduler.finishStops();
    await clock.advance(100);
    assert.equal(await drained, true);
    assert.deepEqual(scheduler.count('web'), { running: 0, starting: 0, stopping: 0 });
  });
  test('a source that answers ok with NaN, Infinity or a negative value is a failure: held, reported, never planned on', async () => {
    const { scheduler, source, tick, controller } = setup();
    source.value = 45;
    await tick();
    scheduler.finishStarts();
    await tick();
    assert.equal(scheduler.count('web').running, 5);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -10]) {
      source.value = bad;
      await tick();
      await tick();
      const web = controller.snapshot().services.find((s) => s.name === 'web');
      assert.match(web?.error ?? '', /unusable value/, `${bad}`);
      assert.equal(web?.desired, 5, `${bad}: web held`);
      assert.equal(scheduler.count('web').running, 5, `${bad}: web scaled`);
      const batch = controller.snapshot().services.find((s) => s.name === 'batch');
      assert.equal(batch?.desired, 15, `${bad}: batch's plan spoiled`);
    }
    source.value = 60; // a scale-up is planned at once (a scale-down would wait out the window)
    await tick();
    await tick();
    assert.equal(controller.snapshot().services.find((s) => s.name === 'web')?.error, undefined);
    assert.equal(controller.snapshot().services.find((s) => s.name === 'web')?.desired, 6);
  });
  test('nudge(): the next tick runs at once instead of at the end of the interval, at most one per 10 ms', async () => {
    const { scheduler, source, controller, clock } = setup();
    source.value = 10;
    const loop = controller.start();
    await flush();
    scheduler.finishStarts();
    const reads = source.reads;
    await clock.advance(20); // 20 ms into the 100 ms interval
    source.value = 50; // web needs 5: a pushed value, say
    controller.nudge();
    await flush();
    assert.equal(source.reads, reads + 1, 'no tick ran on the nudge');
    assert.equal(controller.snapshot().services[0]?.desired, 5, 'not planned on the nudge');
    assert.equal(scheduler.count('batch').stopping, 4, 'batch not preempted on the nudge');
    // A storm of nudges right after that tick: nothing until 10 ms have passed since it started, then one.
    for (let i = 0; i < 5; i++) {
      controller.nudge();
      await flush();
    }
    assert.equal(source.reads, reads + 1);
    await clock.advance(10);
    await flush();
    assert.equal(source.reads, reads + 2);
    await controller.stop();
    await loop;
  });
});
