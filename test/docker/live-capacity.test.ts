// End to end on a real engine with a live capacity (issue 15): the instance as startInstance builds it,
// reading its capacity from an HTTP source (a real server on 127.0.0.1). When the capacity drops from 8 to
// 5 while web and batch run, batch gives way; when the source fails the capacity holds; when it comes back
// at 8 batch takes its share again. The engine's list, sampled every 20 ms, never shows more containers than
// the capacity in force once the stops for a drop have had their time.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
} from '../fixtures/docker/engine.js';
import { ContainerMonitor } from '../fixtures/docker/monitor.js';

const engine = await findEngine();
const names: string[] = [];
after(async () => {
  if (engine.api) await Promise.all(names.map((n) => removeContainers(engine.api as never, n)));
  engine.api?.close();
});

describe('live capacity on docker (capacity from an HTTP source)', skipUnless(engine), () => {
  test('a drop gives way by priority, a failing source holds, a rise refills; never over the capacity in force', async () => {
    const api = needApi(engine);
    const name = uniqueName('e2e-live-cap');
    names.push(name);
    // The budget, as some other system publishes it; `down` makes it answer 503.
    let budget = 8;
    let down = false;
    const server = createServer((_req, res) => {
      if (down) res.writeHead(503).end('maintenance');
      else
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ replicas: budget }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/budget`;
    const run = `{ image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }`;
    const yaml = `
name: ${name}
capacity: { source: { type: http, url: "${url}", path: replicas }, confirm: 1s, every: 200ms }
interval: 100ms
scheduler: { type: docker, network: none }
services:
  web:
    priority: 1
    min: 1
    max: 8
    scaleDownWindow: 500ms
    run: ${run}
    demand: { source: { type: push }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    max: 8
    run: ${run}
    demand: { rule: { type: remainder } }
`;
    const monitor = new ContainerMonitor(api, name);
    await monitor.start();
    const instance: Instance = await startInstance({
      config: parseConfig(yaml, { file: 'live.yaml', sourceSchemas, schedulerSchemas }),
      clock: systemClock,
      logger: { log() {} },
      baseDir: process.cwd(),
    });
    const web = () => monitor.running.get('web') ?? 0;
    const batch = () => monitor.running.get('batch') ?? 0;
    // Samples the engine's list every 20 ms against the capacity in force; a drop's stops get their time
    // (the grace of 1 s and removal) before the lower value is held against the list.
    const violations: string[] = [];
    let inForce = 8;
    let lowerSince = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = Date.now();
        const cap = instance.controller.snapshot().capacity.replicas;
        if (cap < inForce) lowerSince = now;
        inForce = cap;
        const listed = (await containersOf(api, name)).filter((c) => c.State !== 'exited').length;
        if (now - lowerSince > 3000 && listed > inForce)
          violations.push(`${listed} listed, capacity ${inForce}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const source = instance.sources.get('web');
      assert.ok(source && isPushSource(source));
      source.push(30);
      await monitor.until('web 3, batch 5', () => web() === 3 && batch() === 5, 60_000);

      budget = 5; // less than 8 but not less than half: taken at once
      await monitor.until('web 3, batch 2', () => web() === 3 && batch() === 2, 60_000);
      assert.equal(instance.controller.snapshot().capacity.replicas, 5);

      down = true;
      await new Promise((r) => setTimeout(r, 1500));
      const held = instance.controller.snapshot();
      assert.equal(held.capacity.replicas, 5, 'a failing source holds the capacity');
      assert.match(held.capacityError ?? '', /HTTP 503/);
      assert.deepEqual([web(), batch()], [3, 2], 'nothing stopped or started for the failure');

      down = false;
      budget = 8;
      await monitor.until('web 3, batch 5 again', () => web() === 3 && batch() === 5, 60_000);
      assert.equal(instance.controller.snapshot().capacityError, undefined);
    } finally {
      sampling = false;
      await sampler;
      await instance.close({ drain: true });
      monitor.stop();
      server.close();
    }
    assert.deepEqual(violations, [], 'never more containers than the capacity in force');
    assert.equal((await containersOf(api, name)).length, 0, 'drain removed every container');
  });
});
