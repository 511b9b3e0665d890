// Back-end faults: scale() or observe() rejecting, and either one never settling. Each is reported in the
// state, the event log, the metrics and the logs; the loop and the other services go on; capacity is never
// exceeded, not even by a hung call that lands late; and when the fault ends the service scales again.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Source } from '../../src/core/ports.js';
import type { ServicePolicy, SourceResult } from '../../src/core/types.js';
import { FakeScheduler } from '../fakes/fake-scheduler.js';
import { flush, ManualClock } from '../fakes/manual-clock.js';
import { type Rig, rig, sample, service } from './harness.js';

class ValueSource implements Source {
  constructor(
    public value: number,
    private readonly clock: ManualClock,
  ) {}
  async read(): Promise<SourceResult> {
    return { ok: true, reading: { value: this.value, at: this.clock.now() } };
  }
  async close(): Promise<void> {}
}

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
const CAPACITY = 10;
const SCALE_TIMEOUT = 1000;
const OBSERVE_TIMEOUT = 500;

let open: Rig | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function setup() {
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const scheduler = new FakeScheduler(['web', 'batch']);
  const source = new ValueSource(30, clock);
  const r = await rig({
    capacity: { replicas: CAPACITY },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web, batch],
    sources: new Map([['web', source]]),
    scheduler,
    clock,
    scaleTimeoutMs: SCALE_TIMEOUT,
    observeTimeoutMs: OBSERVE_TIMEOUT,
  });
  open = r;
  /** A tick, then the replicas that were asked for start and those stopping go, then 100 ms pass. */
  const tick = async () => {
    await r.controller.tick();
    await flush();
    scheduler.finishStarts();
    scheduler.finishStops();
    await flush();
    await clock.advance(100);
  };
  const active = (name: string) => {
    const o = scheduler.count(name);
    return o.running + o.starting;
  };
  return { clock, scheduler, source, ...r, tick, active };
}

describe('back-end faults', { timeout: 20_000 }, () => {
  test('scale() rejecting: reported in state, events, metrics and logs; retried with backoff; recovers', async () => {
    const { scheduler, controller, view, tick, clock, active } = await setup();
    scheduler.failures = [new Error('engine says no')];
    await controller.tick(); // web's call is made first (priority 1) and fails; batch takes what is free
    await flush();
    scheduler.failures = [new Error('engine says no')]; // and so does the first retry
    let v = await view();
    assert.match(
      service(v, 'web').scaleError ?? '',
      /scaling web to 3 failed: engine says no \(retrying in 100ms\)/,
    );
    assert.equal(service(v, 'batch').scaleError, undefined);
    assert.ok(
      v.events.some((e) => e.kind === 'error' && e.service === 'web' && /engine says no/.test(e.message)),
    );
    assert.equal(sample(v, 'microscaler_scale_failing', { service: 'web' }), 1);
    assert.equal(sample(v, 'microscaler_scale_errors_total', { service: 'web', cause: 'rejected' }), 1);
    assert.ok(v.logs.some((l) => l.startsWith('warn ') && l.includes('engine says no')));
    assert.equal(active('web'), 0);

    await clock.advance(100); // the retry fails again: 200 ms
    await flush();
    assert.equal(scheduler.calls.filter((c) => c.service === 'web').length, 2);
    assert.equal(active('web'), 0, 'left alone while the backoff runs');
    await clock.advance(200);
    await flush();
    assert.equal(active('web'), 3, 'the third call went through');
    v = await view();
    assert.equal(service(v, 'web').scaleError, undefined);
    assert.equal(sample(v, 'microscaler_scale_failing', { service: 'web' }), 0);
    assert.equal(sample(v, 'microscaler_scale_errors_total', { service: 'web', cause: 'rejected' }), 2);
    assert.ok(v.events.some((e) => e.kind === 'recovered' && e.service === 'web'));
    assert.ok(v.logs.some((l) => l.startsWith('info web: recovered')));
    await tick();
    assert.ok(active('web') + active('batch') <= CAPACITY);
    assert.ok(scheduler.peak <= CAPACITY, `peak ${scheduler.peak}`);
  });

  test('observe() rejecting: nothing is planned or scaled meanwhile (never to zero); reported; recovers', async () => {
    const { scheduler, controller, view, tick, active, source } = await setup();
    await tick();
    await tick();
    assert.equal(active('web'), 3);
    assert.equal(active('batch'), 7);
    const calls = scheduler.calls.length;
    scheduler.observeFailures = [new Error('API 503'), new Error('API 503'), new Error('API 503')];
    source.value = 0; // demand falls during the outage: no plan may act on it with replicas unknown
    assert.equal(await controller.tick(), undefined, 'no plan without an observation');
    let v = await view();
    assert.match(v.state.schedulerError ?? '', /cannot observe replicas: API 503/);
    assert.equal(sample(v, 'microscaler_scheduler_up'), 0);
    assert.equal(sample(v, 'microscaler_observe_errors_total'), 1);
    assert.ok(v.events.some((e) => e.kind === 'error' && /API 503/.test(e.message)));
    assert.ok(v.logs.some((l) => l.startsWith('warn cannot observe replicas: API 503')));
    await tick();
    await tick();
    assert.equal(scheduler.calls.length, calls, 'no scale call while the back-end cannot be seen');
    assert.equal(active('web'), 3);
    await tick(); // answers again
    v = await view();
    assert.equal(v.state.schedulerError, undefined);
    assert.equal(sample(v, 'microscaler_scheduler_up'), 1);
    assert.equal(sample(v, 'microscaler_observe_errors_total'), 3);
    assert.ok(v.events.some((e) => e.kind === 'recovered' && /scheduler: recovered/.test(e.message)));
    source.value = 50;
    await tick();
    assert.equal(active('web'), 5, 'scales again');
  });

  test('observe() never settling: the tick ends after observeTimeoutMs, reported; recovers', async () => {
    const { scheduler, controller, view, tick, clock, active } = await setup();
    await tick();
    scheduler.hangObserve = true;
    let done = false;
    const hung = controller.tick().then((p) => {
      done = true;
      return p;
    });
    await flush();
    await clock.advance(OBSERVE_TIMEOUT - 1);
    assert.equal(done, false, 'waits up to the timeout');
    await clock.advance(1);
    assert.equal(await hung, undefined, 'then gives up on that observation');
    const v = await view();
    assert.match(v.state.schedulerError ?? '', /no answer within 500ms/);
    assert.equal(sample(v, 'microscaler_scheduler_up'), 0);
    assert.equal(sample(v, 'microscaler_observe_errors_total'), 1);
    assert.ok(v.events.some((e) => e.kind === 'error' && /no answer within 500ms/.test(e.message)));
    assert.ok(v.logs.some((l) => l.includes('no answer within 500ms')));
    // The back-end comes back; the late answers are harmless.
    scheduler.hangObserve = false;
    scheduler.release();
    await tick();
    const after = await view();
    assert.equal(after.state.schedulerError, undefined);
    assert.equal(sample(after, 'microscaler_scheduler_up'), 1);
    assert.equal(active('web'), 3);
    assert.equal(active('batch'), 7);
  });

  test('scale() never settling: abandoned after scaleTimeoutMs, reported, retried; its replicas stay reserved until it lands', async () => {
    const { scheduler, controller, view, tick, clock, active, source } = await setup();
    scheduler.hangScales = 1; // web's first call (priority 1 goes first) hangs
    await controller.tick();
    await flush();
    scheduler.finishStarts();
    assert.equal(active('web'), 0);
    assert.equal(active('batch'), 7, 'the other service is not held up, and web’s 3 are kept free');

    await clock.advance(SCALE_TIMEOUT); // the call is abandoned: reported, then retried after 100 ms
    await flush();
    let v = await view();
    assert.match(service(v, 'web').scaleError ?? '', /scaling web to 3 did not settle within 1000ms/);
    assert.equal(sample(v, 'microscaler_scale_failing', { service: 'web' }), 1);
    assert.equal(sample(v, 'microscaler_scale_errors_total', { service: 'web', cause: 'timeout' }), 1);
    assert.ok(
      v.events.some((e) => e.kind === 'error' && e.service === 'web' && /did not settle/.test(e.message)),
    );
    assert.ok(v.logs.some((l) => l.startsWith('warn scaling web to 3 did not settle')));
    await clock.advance(100);
    await flush();
    assert.equal(active('web'), 3, 'the retry went through');
    v = await view();
    assert.equal(service(v, 'web').scaleError, undefined);
    assert.ok(v.events.some((e) => e.kind === 'recovered' && e.service === 'web'));
    scheduler.finishStarts();

    // Demand falls: web goes down to 1, but the abandoned call (to 3) may still land, so batch may not
    // take the 2 freed replicas yet.
    source.value = 10;
    await tick();
    await clock.advance(web.scaleDownWindowMs);
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(active('web'), 1);
    assert.equal(active('batch'), 7, 'capacity the hung call may still take stays reserved');
    assert.equal(scheduler.hanging, 1);

    scheduler.release(); // the hung call lands late: web back to 3 for a moment, inside capacity
    await flush();
    assert.ok(scheduler.peak <= CAPACITY, `peak ${scheduler.peak} > ${CAPACITY}`);
    for (let i = 0; i < 3; i++) await tick();
    assert.equal(active('web'), 1, 'scaled back down after the late landing');
    assert.equal(active('batch'), 9, 'and the reservation is released once the call has settled');
    assert.ok(scheduler.peak <= CAPACITY, `peak ${scheduler.peak} > ${CAPACITY}`);
    const logs = (await view()).logs;
    assert.ok(logs.some((l) => l.includes('an abandoned call scaling web to 3 succeeded late')));
  });

  test('stop() returns while a scale call hangs (after the scale timeout), leaving nothing waiting', async () => {
    const { scheduler, controller, clock } = await setup();
    scheduler.hangScales = 1;
    await controller.tick();
    await flush();
    let stopped = false;
    const stopping = controller.stop().then(() => {
      stopped = true;
    });
    await flush();
    assert.equal(stopped, false);
    await clock.advance(SCALE_TIMEOUT);
    await stopping;
    assert.equal(stopped, true);
    scheduler.release();
  });
});
