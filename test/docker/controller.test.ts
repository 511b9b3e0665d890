// End-to-end on a real engine: the whole instance (controller, planner, docker back-end) as startInstance
// builds it, watched from outside through the engine's own event stream and container list.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { isPushSource } from '../../src/sources/push.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  skipUnless,
  TEST_IMAGE,
  uniqueName,
  waitFor,
} from '../fixtures/docker/engine.js';
import { ContainerMonitor } from '../fixtures/docker/monitor.js';

const engine = await findEngine();
const instances: string[] = [];
after(async () => {
  if (!engine.api) return;
  const api = engine.api;
  await Promise.all(instances.map((i) => removeContainers(api, i)));
  api.close();
});

const CAPACITY = 8;

async function start(name: string): Promise<Instance> {
  instances.push(name);
  const run = `{ image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 2s, pull: never }`;
  const yaml = `
name: ${name}
capacity: { replicas: ${CAPACITY} }
interval: 100ms
scheduler: { type: docker, network: none }
services:
  web:
    priority: 1
    min: 1
    scaleDownWindow: 500ms
    run: ${run}
    demand: { source: { type: push }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    run: ${run}
    demand: { rule: { type: remainder } }
`;
  return startInstance({
    config: parseConfig(yaml, { file: 'test.yaml', sourceSchemas, schedulerSchemas }),
    clock: systemClock,
    logger: { log() {} },
    baseDir: process.cwd(),
  });
}

function push(instance: Instance, value: number): void {
  const source = instance.sources.get('web');
  assert.ok(source && isPushSource(source));
  source.push(value);
}

/** Lists the instance's containers (running or not) as fast as the engine answers, keeping the largest count. */
function sampleList(api: NonNullable<typeof engine.api>, name: string): { stop: () => Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await containersOf(api, name)).length);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

describe('docker back-end under the controller', skipUnless(engine), () => {
  test('priority 1 preempts priority 2 without ever exceeding capacity, and gives it back', async () => {
    const api = needApi(engine);
    const name = uniqueName('e2e-preempt');
    const monitor = new ContainerMonitor(api, name);
    await monitor.start();
    const instance = await start(name);
    const web = () => monitor.running.get('web') ?? 0;
    const batch = () => monitor.running.get('batch') ?? 0;
    try {
      push(instance, 10);
      await monitor.until('web 1, batch 7', () => web() === 1 && batch() === CAPACITY - 1, 60_000);

      const sampler = sampleList(api, name);
      const step = Date.now();
      push(instance, 70); // web needs 7: batch must give up 6
      const reached = await monitor.until('web 7', () => web() === 7, 60_000);
      assert.equal(
        monitor.count('destroy', 'batch', step, reached),
        6,
        'exactly the 6 needed were preempted',
      );
      assert.equal(monitor.count('create', 'batch', step, reached), 0, 'no batch refill while web waited');

      push(instance, 10); // and back: batch refills once web's window has passed
      await monitor.until('web 1, batch 7 again', () => web() === 1 && batch() === CAPACITY - 1, 60_000);
      const listed = await sampler.stop();
      assert.ok(
        monitor.peakExisting <= CAPACITY,
        `events: ${monitor.peakExisting} containers existed at once`,
      );
      assert.ok(monitor.peakRunning <= CAPACITY, `events: ${monitor.peakRunning} containers ran at once`);
      assert.ok(listed <= CAPACITY, `docker ps -a: ${listed} containers listed at once`);
      assert.equal(instance.controller.snapshot().capacity.used, CAPACITY);
    } finally {
      await instance.close({ drain: true });
      monitor.stop();
    }
    assert.equal((await containersOf(api, name)).length, 0, 'drain removed every container');
  });

  test('a container killed behind its back is replaced, within capacity', async () => {
    const api = needApi(engine);
    const name = uniqueName('e2e-kill');
    const monitor = new ContainerMonitor(api, name);
    await monitor.start();
    const instance = await start(name);
    try {
      push(instance, 20);
      await monitor.until(
        'web 2, batch 6',
        () => monitor.running.get('web') === 2 && monitor.running.get('batch') === 6,
        60_000,
      );
      const victims = (await containersOf(api, name, 'web')).map((c) => c.Id);
      await api.request('POST', `/containers/${victims[0]}/kill`);
      await waitFor('a replacement web container', async () => {
        const now = await containersOf(api, name, 'web');
        return (
          now.length === 2 && now.every((c) => c.State === 'running') && !now.some((c) => c.Id === victims[0])
        );
      });
      assert.ok(monitor.peakExisting <= CAPACITY, `${monitor.peakExisting} containers existed at once`);
      assert.equal(monitor.count('create', 'web'), 3, 'one replacement, no more');
    } finally {
      await instance.close({ drain: true });
      monitor.stop();
    }
  });
});
