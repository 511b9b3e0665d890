// Clock jumps: the system time set forward or back by hours (NTP step, a resumed VM, an operator). Every
// duration (scale-down window, backoff, source age, read timeout, loop sleep) is measured on the monotonic
// clock, so a jump changes none of them; timestamps people read (state time, event times) follow the wall.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Controller } from '../../src/controller/index.js';
import type { Source } from '../../src/core/ports.js';
import type { ServicePolicy, SourceResult } from '../../src/core/types.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { PushSource } from '../../src/sources/push.js';
import { FakeScheduler } from '../fakes/fake-scheduler.js';
import { flush, ManualClock } from '../fakes/manual-clock.js';
import { until } from './harness.js';

const HOUR = 3_600_000;
const realNow = Date.now;
/** Makes Date.now() (the wall clock) jump by ms from here on; performance.now() is untouched. */
function jumpWallClock(ms: number): void {
  const before = Date.now;
  Date.now = () => before() + ms;
}
afterEach(() => {
  Date.now = realNow;
});

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 600,
};

class ValueSource implements Source {
  value = 50;
  constructor(private readonly clock: { now(): number }) {}
  async read(): Promise<SourceResult> {
    return { ok: true, reading: { value: this.value, at: this.clock.now() } };
  }
  async close(): Promise<void> {}
}

/** A controller for web on a manual clock (wall and monotonic time apart) and an instant fake back-end. */
function manual() {
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const scheduler = new FakeScheduler(['web']);
  scheduler.instant = true;
  const source = new ValueSource(clock);
  const controller = new Controller({
    name: 'jumps',
    capacity: { replicas: 10 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web],
    sources: new Map([['web', source]]),
    scheduler,
    clock,
    logger: silentLogger,
  });
  return { clock, scheduler, source, controller };
}

describe('clock jumps', { timeout: 30_000 }, () => {
  test('systemClock: now() does not jump with the wall clock; wall() does', () => {
    const now = systemClock.now();
    const wall = systemClock.wall();
    jumpWallClock(HOUR);
    assert.ok(Math.abs(systemClock.wall() - (wall + HOUR)) < 1000, 'wall() follows Date.now()');
    assert.ok(systemClock.now() - now < 1000, `now() moved ${systemClock.now() - now}ms`);
    jumpWallClock(-3 * HOUR);
    assert.ok(systemClock.now() >= now, 'now() never goes back');
    assert.ok(Math.abs(systemClock.now() - realNow()) < 1000, 'and stays close to the real wall clock');
  });

  test('a running instance: a jump forward neither scales down at once nor makes a pushed value stale; a jump back does not stall scale-down', async () => {
    const scheduler = new FakeScheduler(['web']);
    scheduler.instant = true;
    const push = new PushSource({ maxAge: 2000 }, systemClock);
    const controller = new Controller({
      name: 'jumps',
      capacity: { replicas: 10 },
      intervalMs: 20,
      readTimeoutMs: 500,
      services: [web],
      sources: new Map([['web', push]]),
      scheduler,
      clock: systemClock,
      logger: silentLogger,
    });
    const running = controller.start();
    const active = () => scheduler.count('web').running + scheduler.count('web').starting;
    const ticks = () => controller.metrics().tickSeconds.count;
    try {
      push.push(50);
      await until(() => active() === 5, 'web at 5');

      // Demand falls, then the wall clock jumps an hour forward.
      push.push(10);
      const fell = performance.now();
      jumpWallClock(HOUR);
      const t0 = ticks();
      await new Promise((r) => setTimeout(r, 300)); // half the window
      assert.ok(ticks() > t0 + 3, 'the loop goes on');
      assert.equal(active(), 5, 'no scale-down before the window has passed');
      const state = controller.snapshot();
      assert.equal(state.services[0]?.error, undefined, 'the pushed value is not stale');
      assert.ok(Math.abs(Date.parse(state.time) - Date.now()) < 1000, 'state time follows the wall clock');
      await until(() => active() === 1, 'scale-down after the window');
      assert.ok(performance.now() - fell >= web.scaleDownWindowMs - 50, 'not before the window');

      // Back two hours: scale-up is immediate, and scale-down still comes after one window, not hours.
      jumpWallClock(-2 * HOUR);
      push.push(50);
      await until(() => active() === 5, 'scale-up after a jump back', 2000);
      push.push(10);
      const again = performance.now();
      await until(() => active() === 1, 'scale-down after a jump back', 5000);
      assert.ok(performance.now() - again >= web.scaleDownWindowMs - 50);
      const times = controller.log.recent().map((e) => Date.parse(e.time));
      assert.ok(
        Math.abs((times.at(-1) ?? 0) - Date.now()) < 1000,
        'event times follow the wall clock, jumps and all',
      );
    } finally {
      await controller.stop();
      await running;
      Date.now = realNow;
    }
  });

  test('event and state times follow wall(); windows follow now()', async () => {
    const { clock, scheduler, source, controller } = manual();
    const tick = async () => {
      await controller.tick();
      await flush();
      await clock.advance(100);
    };
    await tick();
    assert.equal(scheduler.count('web').running, 5);
    source.value = 10;
    clock.jumpWall(HOUR);
    await tick();
    assert.equal(scheduler.count('web').running, 5, 'the window did not jump');
    assert.equal(controller.snapshot().time, new Date(clock.wall()).toISOString());
    for (let i = 0; i < 7; i++) await tick();
    assert.equal(scheduler.count('web').running, 1, 'scale-down after the window');
    const stop = controller.log.recent().findLast((e) => e.kind === 'stop');
    assert.ok(stop && Date.parse(stop.time) >= Date.UTC(2024, 0, 1) + HOUR, JSON.stringify(stop));
  });

  test('a Clock whose now() itself jumps back: the loop keeps its interval and backoff its delay', async () => {
    const { clock, scheduler, controller } = manual();
    scheduler.failures = [new Error('no')];
    const running = controller.start();
    await flush();
    assert.equal(scheduler.calls.length, 1, 'first call failed; retry due in 100 ms');
    clock.jump(-HOUR);
    const before = controller.metrics().tickSeconds.count;
    for (let i = 0; i < 5; i++) await clock.advance(100);
    assert.ok(controller.metrics().tickSeconds.count >= before + 4, 'ticks every interval');
    assert.equal(scheduler.count('web').running, 5, 'the retry came after its delay, not an hour later');
    await controller.stop();
    await running;
  });
});
