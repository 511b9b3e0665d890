// What the controller offers the API beyond the loop: the live event log, metrics, and runtime changes
// (min, max, priority, pause, resume).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import { ConfigError } from '../core/errors.js';
import type { Source } from '../core/ports.js';
import type { ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';
import { UnknownServiceError } from './errors.js';
import { EventLog } from './event-log.js';
import { Histogram, scaleCause } from './metrics.js';

class TestSource implements Source {
  value = 0;
  fail: string | undefined;
  constructor(private readonly clock: ManualClock) {}
  async read(): Promise<SourceResult> {
    if (this.fail) return { ok: false, error: this.fail };
    return { ok: true, reading: { value: this.value, at: this.clock.now() } };
  }
  async close(): Promise<void> {}
}

const policy = (p: Partial<ServicePolicy> & { name: string }): ServicePolicy => ({
  priority: 1,
  min: 0,
  max: 20,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
  ...p,
});
const web = policy({ name: 'web', min: 1, max: 19 });
const batch = policy({ name: 'batch', priority: 2, rule: { type: 'remainder' } });

function setup(services = [web, batch]) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(services.map((s) => s.name));
  scheduler.instant = true;
  const source = new TestSource(clock);
  let fine = 0;
  const controller = new Controller({
    name: 'test',
    capacity: { replicas: 20 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services,
    sources: new Map([['web', source]]),
    scheduler,
    clock,
    logger: silentLogger,
    // Each reading of the fine clock is 2 ms after the last: every tick lasts 2 ms.
    timer: () => (fine += 2),
  });
  const tick = async () => {
    await controller.tick();
    await flush();
    await clock.advance(100);
  };
  const desired = (name: string) => controller.snapshot().services.find((s) => s.name === name)?.desired;
  return { clock, scheduler, source, controller, tick, desired };
}

describe('event log', () => {
  test('keeps the newest events, numbered, and replays those after an id', () => {
    const log = new EventLog(3);
    const seen: number[] = [];
    log.subscribe((e) => seen.push(e.id));
    for (let i = 1; i <= 5; i++) log.append({ kind: 'plan', time: '', message: `m${i}` });
    assert.deepEqual(
      log.recent().map((e) => [e.id, e.message]),
      [
        [3, 'm3'],
        [4, 'm4'],
        [5, 'm5'],
      ],
    );
    assert.deepEqual(
      log.recent(10, 4).map((e) => e.id),
      [5],
    );
    assert.deepEqual(
      log.recent(2).map((e) => e.id),
      [4, 5],
    );
    assert.equal(log.lastId, 5);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  test('a listener that throws stops neither the others nor the append', () => {
    const log = new EventLog();
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error('boom');
    });
    log.subscribe((e) => seen.push(e.id));
    assert.equal(log.append({ kind: 'plan', time: '', message: 'x' }).id, 1);
    assert.deepEqual(seen, [1]);
  });

  test('the controller logs starts, stops and preemptions with their reasons and counts', async () => {
    const { controller, source, scheduler, tick } = setup();
    source.value = 10;
    await tick();
    source.value = 50;
    await tick();
    scheduler.finishStops(); // web's new replicas start once batch's have stopped
    await flush();
    const events = controller.log.recent();
    const start = events.find((e) => e.kind === 'start' && e.service === 'web' && e.to === 5);
    assert.ok(start, JSON.stringify(events));
    assert.equal(start.from, 1);
    assert.match(start.reason ?? '', /^scale up web 1→5: need 5/);
    const preempt = events.find((e) => e.kind === 'preempt');
    assert.equal(preempt?.service, 'batch');
    assert.match(preempt?.message ?? '', /^preempted batch ×4 for web/);
    const stop = events.find((e) => e.kind === 'stop' && e.service === 'batch');
    assert.deepEqual([stop?.from, stop?.to], [19, 15]);
    assert.match(stop?.reason ?? '', /^preempted batch/);
    // Ids increase in order of time.
    const ids = events.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
  });

  test('replicas started ticks after the plan (waiting for capacity) carry the plan reason', async () => {
    const { controller, source, scheduler, tick } = setup();
    source.value = 10;
    await tick();
    source.value = 50;
    await tick(); // web 1→5 must wait for batch's stops
    await tick();
    await tick(); // plans without a reason meanwhile
    scheduler.finishStops();
    await flush();
    const start = controller.log
      .recent()
      .find((e) => e.kind === 'start' && e.service === 'web' && e.to === 5);
    assert.match(start?.reason ?? '', /^scale up web 1→5: need 5/);
    // Once web runs its count, a crash is a replacement.
    scheduler.crash('web');
    await flush();
    const replaced = controller.log.recent().at(-1);
    assert.equal(replaced?.kind, 'start');
    assert.match(replaced?.reason ?? '', /^replacing 1 replica\(s\) of web that stopped/);
    assert.equal(controller.metrics().services.get('web')?.scaleActions.get('up replacement'), 1);
  });
});

describe('metrics', () => {
  test('histogram buckets are upper bounds; the last catches the rest', () => {
    const h = new Histogram([1, 2]);
    for (const v of [0.5, 1, 1.5, 3]) h.observe(v);
    assert.deepEqual(h.counts, [2, 1, 1]);
    assert.equal(h.count, 4);
    assert.equal(h.sum, 6);
    assert.throws(() => new Histogram([2, 1]), RangeError);
  });

  test('scale causes come from the planner reasons', () => {
    assert.equal(
      scaleCause({ cause: 'preempt', text: 'preempted batch ×2 for web (need 6): batch 16→14' }),
      'preemption',
    );
    assert.equal(scaleCause({ cause: 'remainder', text: 'scale up batch 0→19: remainder' }), 'remainder');
    assert.equal(
      scaleCause({ cause: 'scale-up', text: 'scale up web 1→5: need 5 (value 50 / 10 per replica)' }),
      'demand',
    );
    assert.equal(
      scaleCause({ cause: 'scale-down', text: 'scale down web 5→1: need 1 (value 0 / 10 per replica)' }),
      'demand',
    );
    assert.equal(
      scaleCause({ cause: 'replace', text: 'replacing 1 replica(s) of web that stopped' }),
      'replacement',
    );
    assert.equal(scaleCause({ cause: 'exit', text: 'stopping everything on exit' }), 'exit');
    assert.equal(scaleCause({ cause: 'above-plan', text: 'web above plan' }), 'correction');
  });

  test('counts scale actions by direction and cause, source errors, ticks and time to desired', async () => {
    const { controller, source, scheduler, tick } = setup();
    scheduler.instant = false;
    source.value = 10;
    await tick(); // web 0→1, batch 0→19: both start, nothing runs yet
    await tick();
    scheduler.finishStarts();
    await tick();
    source.value = 30;
    await tick(); // web 1→3 preempts batch 19→17
    scheduler.finishStops();
    await flush();
    scheduler.finishStarts();
    await tick();
    source.fail = 'connection refused';
    await tick();
    await tick();

    const m = controller.metrics();
    const webActions = Object.fromEntries(m.services.get('web')?.scaleActions ?? []);
    const batchActions = Object.fromEntries(m.services.get('batch')?.scaleActions ?? []);
    assert.deepEqual(webActions, { 'up demand': 2 });
    assert.deepEqual(batchActions, { 'up remainder': 1, 'down preemption': 1 });
    assert.equal(m.services.get('web')?.sourceErrors, 2);
    assert.equal(m.services.get('batch')?.sourceErrors, 0);
    assert.equal(m.tickSeconds.count, 7);
    // Every tick took 2 ms on the injected fine clock (the first reading starts it, the second ends it).
    assert.equal(m.tickSeconds.sum.toFixed(3), '0.014');
    // web waited two ticks (200 ms) for its first replica, then 100 ms for the next two.
    const reach = m.services.get('web')?.timeToDesired;
    assert.equal(reach?.count, 2);
    assert.equal(reach?.sum.toFixed(3), '0.300');
  });
});

describe('runtime changes', () => {
  test('a lower max shows in the next plan, and batch takes what web gave up', async () => {
    const { controller, source, tick, desired } = setup();
    source.value = 80;
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [8, 12]);
    const status = controller.update('web', { max: 3 });
    assert.equal(status.max, 3);
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [3, 17]);
    const change = controller.log.recent().find((e) => e.kind === 'change');
    assert.equal(change?.message, 'changed web: max 19→3');
  });

  test('priority: web below batch gets only its min while batch, a remainder, takes the rest', async () => {
    const { controller, source, tick, desired } = setup();
    source.value = 80;
    await tick();
    controller.update('web', { priority: 3 });
    await tick();
    await tick();
    assert.equal(controller.snapshot().services.find((s) => s.name === 'web')?.priority, 3);
    // batch's stops are finished at once (instant back-end), so capacity moves within the ticks.
    assert.deepEqual([desired('web'), desired('batch')], [1, 19]);
  });

  test('a higher min holds replicas against lower need', async () => {
    const { controller, source, tick, desired } = setup();
    source.value = 0;
    await tick();
    controller.update('web', { min: 6 });
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [6, 14]);
  });

  test('invalid changes are refused with every problem, and change nothing', () => {
    const { controller } = setup();
    const problems = (change: object) => {
      try {
        controller.update('web', change);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      assert.fail('no error');
    };
    assert.deepEqual(problems({ min: 20 }), ['min: min 20 must not exceed max 19']);
    assert.deepEqual(problems({ max: 0 }), ['max: min 1 must not exceed max 0']);
    assert.deepEqual(problems({ min: 1.5, priority: 0 }), [
      'priority: expected an integer ≥ 1, got 0',
      'min: expected an integer ≥ 0, got 1.5',
    ]);
    assert.deepEqual(problems({ max: -1 }), ['max: expected an integer ≥ 0, got -1']);
    assert.deepEqual(problems({ max: Number.NaN }), ['max: expected an integer ≥ 0, got null']);
    assert.throws(() => controller.update('nope', { max: 1 }), UnknownServiceError);
    const web = controller.snapshot().services.find((s) => s.name === 'web');
    assert.deepEqual([web?.min, web?.max, web?.priority], [1, 19, 1]);
    assert.equal(
      controller.log.recent().filter((e) => e.kind === 'change').length,
      0,
      'no change event for a refused change',
    );
  });

  test('a fixed rule keeps its replicas within min..max', () => {
    const fixed = policy({ name: 'fixed', rule: { type: 'fixed', replicas: 4 } });
    const { controller } = setup([fixed]);
    assert.throws(
      () => controller.update('fixed', { max: 3 }),
      /fixed rule of fixed asks for 4, outside 0\.\.3/,
    );
    assert.equal(controller.update('fixed', { max: 4 }).max, 4);
  });

  test('pause freezes a service in both directions and against preemption; resume lets it scale', async () => {
    const { controller, source, tick, desired } = setup();
    source.value = 50;
    await tick();
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [5, 15]);

    controller.pause('batch');
    controller.pause('web');
    assert.equal(controller.snapshot().services.find((s) => s.name === 'web')?.paused, true);
    source.value = 120; // web would want 12, taking 7 from batch
    await tick();
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [5, 15]);
    source.value = 0; // and would drop to 1 after the window
    for (let i = 0; i < 15; i++) await tick();
    assert.deepEqual([desired('web'), desired('batch')], [5, 15]);

    controller.resume('web'); // web is free again; batch, still paused, is not preempted
    source.value = 120;
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [5, 15]);
    controller.resume('batch');
    await tick();
    assert.deepEqual([desired('web'), desired('batch')], [12, 8]);
    assert.equal(controller.snapshot().services.find((s) => s.name === 'web')?.paused, undefined);
    assert.deepEqual(
      controller.log
        .recent()
        .filter((e) => e.kind === 'change')
        .map((e) => e.message),
      ['paused batch at 15 replica(s)', 'paused web at 5 replica(s)', 'resumed web', 'resumed batch'],
    );
  });

  test('a paused service still follows a lower max: the operator asked for it', async () => {
    const { controller, source, tick, desired } = setup();
    source.value = 50;
    await tick();
    await tick();
    controller.pause('web');
    controller.update('web', { max: 2 });
    await tick();
    assert.equal(desired('web'), 2);
  });

  test('pausing twice or resuming a running service changes nothing', async () => {
    const { controller, tick } = setup();
    await tick();
    controller.pause('web');
    controller.pause('web');
    controller.resume('batch');
    assert.equal(controller.log.recent().filter((e) => e.kind === 'change').length, 1);
    assert.throws(() => controller.pause('nope'), UnknownServiceError);
  });
});
