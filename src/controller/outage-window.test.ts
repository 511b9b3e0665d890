import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import type { Source } from '../core/ports.js';
import type { ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { Controller } from './controller.js';

/** A source that answers `value`, or fails while `fail` is set. */
class OnOffSource implements Source {
  value = 0;
  fail: string | undefined;
  constructor(private readonly clock: ManualClock) {}
  read(): Promise<SourceResult> {
    if (this.fail) return Promise.resolve({ ok: false, error: this.fail });
    return Promise.resolve({ ok: true, reading: { value: this.value, at: this.clock.now() } });
  }
  async close(): Promise<void> {}
}

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 20,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 2000,
};

test('after a source outage longer than scaleDownWindow, the value that comes back restarts the window', async () => {
  const clock = new ManualClock(1_000_000);
  const scheduler = new FakeScheduler(['web']);
  scheduler.instant = true;
  const source = new OnOffSource(clock);
  const controller = new Controller({
    name: 'outage-window',
    capacity: { replicas: 20 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web],
    sources: new Map([['web', source]]),
    scheduler,
    clock,
    logger: silentLogger,
  });
  const tickAfter = async (ms: number) => {
    await clock.advance(ms);
    await controller.tick();
    await flush();
  };
  source.value = 80;
  await tickAfter(0);
  assert.equal(scheduler.count('web').running, 8);

  source.fail = 'connection refused';
  for (let i = 0; i < 10; i++) await tickAfter(1000); // 10 s blind: five windows
  assert.equal(scheduler.count('web').running, 8, 'held through the outage');

  source.fail = undefined;
  source.value = 20;
  await tickAfter(100);
  assert.equal(scheduler.count('web').running, 8, 'not scaled down in the tick the source recovers');
  await tickAfter(1800);
  assert.equal(scheduler.count('web').running, 8, 'still within the restarted window');
  await tickAfter(300);
  assert.equal(scheduler.count('web').running, 2, 'scaled down once the restarted window has passed');
  await controller.stop();
});
