import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import { TerminalError, TransientError } from '../core/errors.js';
import type { ControllerEvent, ServicePolicy } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'fixed', replicas: 3 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};

function setup() {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(['web']);
  const events: ControllerEvent[] = [];
  const controller = new Controller({
    name: 'terminal',
    capacity: { replicas: 10 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web],
    sources: new Map(),
    scheduler,
    clock,
    logger: silentLogger,
  });
  controller.subscribe((e) => events.push(e));
  /** `n` ticks, 100 ms apart. */
  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await controller.tick();
      await flush();
      await clock.advance(100);
    }
  };
  const calls = () => scheduler.calls.filter((c) => c.service === 'web').length;
  return { scheduler, controller, events, ticks, calls };
}

describe('terminal errors (fake scheduler)', () => {
  test('a 403 is asked once over a minute of ticks and reported once; a runtime change clears it', async () => {
    const { scheduler, controller, events, ticks, calls } = setup();
    scheduler.failures = [new TerminalError('403 Forbidden: cannot patch deployments/scale')];
    await ticks(600);
    assert.equal(calls(), 1);
    assert.equal(events.filter((e) => e.kind === 'error').length, 1);
    assert.match(controller.snapshot().services[0]?.scaleError ?? '', /403 Forbidden.*not retried until/);
    controller.update('web', { max: 9 });
    await ticks(2);
    assert.equal(calls(), 2);
    assert.equal(scheduler.count('web').starting, 3);
    assert.equal(controller.snapshot().services[0]?.scaleError, undefined);
    await controller.stop();
  });

  test('a change the back-end reports for the service (watch, or other counts observed) clears it', async () => {
    const { scheduler, controller, ticks, calls } = setup();
    scheduler.failures = [new TerminalError('not labelled as ours')];
    await ticks(50);
    assert.equal(calls(), 1);
    // Someone else starts a replica: observe shows other counts, and watch names the service.
    scheduler.instant = true;
    await scheduler.scale('web', 1, 'someone else');
    scheduler.finishStarts('web');
    await ticks(3);
    assert.equal(calls(), 3, "the failed call, someone else's, then the retry after the change");
    assert.equal(scheduler.count('web').running, 3);
    await controller.stop();
  });

  test('a transient error keeps backing off and is retried', async () => {
    const { scheduler, controller, ticks, calls } = setup();
    scheduler.failures = [1, 2, 3].map(() => new TransientError('connection reset'));
    await ticks(50);
    assert.equal(calls(), 4);
    assert.equal(scheduler.count('web').starting, 3);
    await controller.stop();
  });

  test('an observe answered with a TerminalError is not asked every tick', async () => {
    const { scheduler, controller, events, ticks } = setup();
    scheduler.observeFailures = Array.from({ length: 1000 }, () => new TerminalError('401 Unauthorized'));
    await ticks(600); // a minute
    assert.ok(scheduler.observeCalls <= 8, `${scheduler.observeCalls} observe calls in a minute`);
    assert.equal(events.filter((e) => e.kind === 'error').length, 1, 'reported once');
    assert.match(controller.snapshot().schedulerError ?? '', /401 Unauthorized/);
    await controller.stop();
  });
});
