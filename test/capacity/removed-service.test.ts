// A service removed from the config while its replicas run (process back-end, real processes): they are
// adopted, count against capacity, and are stopped; with keepRemoved (`run --keep-removed`) they keep
// running and still count. The count of live replica processes, read from /proc, never exceeds capacity.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Controller } from '../../src/controller/index.js';
import type { Logger } from '../../src/core/ports.js';
import type { ServicePolicy } from '../../src/core/types.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { ProcessScheduler } from '../../src/schedulers/process/index.js';
import { liveReplicas, replicaPids } from '../fixtures/process/proc.js';

const SLEEP = { command: ['sleep', '120'], stopGraceMs: 2000 };
const CAPACITY = 6;
const instances: string[] = [];
const dirs: string[] = [];

after(() => {
  for (const name of instances) {
    for (const pid of replicaPids(name)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'fixed', replicas: CAPACITY },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};

const lines: string[] = [];
const logger: Logger = { log: (level, message) => lines.push(`${level} ${message}`) };

/** An instance whose earlier config ran 4 replicas of "old"; the scheduler and controller of the new one. */
async function leftovers(keepRemoved: boolean) {
  const instance = `removed-${process.pid}-${randomBytes(3).toString('hex')}`;
  instances.push(instance);
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-removed-'));
  dirs.push(stateDir);
  const earlier = await ProcessScheduler.create(
    { stateDir },
    { clock: systemClock, logger, instance, services: [{ name: 'old', run: SLEEP }] },
  );
  await earlier.scale('old', 4, 'the earlier config');
  await earlier.close();
  assert.equal(replicaPids(instance).length, 4);

  const scheduler = await ProcessScheduler.create(
    { stateDir },
    { clock: systemClock, logger, instance, services: [{ name: 'web', run: SLEEP }] },
  );
  const controller = new Controller({
    name: instance,
    capacity: { replicas: CAPACITY },
    intervalMs: 50,
    readTimeoutMs: 1000,
    services: [web],
    sources: new Map(),
    scheduler,
    clock: systemClock,
    logger,
    keepRemoved,
  });
  /**
   * Runs the loop, sampling /proc, until `done` (and at least `minMs` have passed) or 20 s; returns the most
   * live replica processes seen at once.
   */
  const runUntil = async (done: () => boolean, minMs = 0): Promise<number> => {
    const loop = controller.start();
    let most = 0;
    const started = Date.now();
    while (Date.now() < started + 20_000) {
      most = Math.max(most, replicaPids(instance).length);
      if (done() && Date.now() >= started + minMs) break;
      await delay(5);
    }
    await controller.stop();
    await loop;
    return most;
  };
  const count = (service: string) => liveReplicas(instance).filter((r) => r.service === service).length;
  return { instance, scheduler, controller, runUntil, count };
}

describe('replicas of a service removed from the config (process back-end)', () => {
  test('are counted against capacity and stopped', async () => {
    const { scheduler, controller, runUntil, count } = await leftovers(false);
    const most = await runUntil(() => count('old') === 0 && count('web') === CAPACITY);
    assert.ok(most <= CAPACITY, `${most} replica processes at once on a capacity of ${CAPACITY}`);
    assert.equal(count('old'), 0, 'the removed service is stopped');
    assert.equal(count('web'), CAPACITY, 'and its capacity goes to the configured one');
    assert.ok(
      lines.some((l) => /old is not in the config: its 4 replica\(s\) count against capacity/.test(l)),
    );
    assert.equal(controller.snapshot().removed, undefined);
    await scheduler.stopAll();
    await scheduler.close();
  });

  test('with keepRemoved they keep running and still count against capacity', async () => {
    const { scheduler, controller, runUntil, count } = await leftovers(true);
    // Well past the first ticks: nothing else may start, nothing of "old" may stop.
    const most = await runUntil(() => count('web') >= 2, 1500);
    assert.ok(most <= CAPACITY, `${most} replica processes at once on a capacity of ${CAPACITY}`);
    assert.equal(count('old'), 4, 'kept');
    assert.equal(count('web'), 2, 'the configured service gets what is left');
    assert.deepEqual(controller.snapshot().removed, [{ name: 'old', replicas: 4, kept: true }]);
    await scheduler.stopAll();
    await scheduler.close();
  });
});
