// The engine going away and coming back: a private dockerd (so that the machine's own engine, which other
// tests and people use, is never stopped) with --live-restore, stopped and started again under a running
// instance. The outage is reported, and afterwards the same containers are tracked: none duplicated, none lost.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { renderMetrics } from '../../src/api/prometheus.js';
import { startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import type { ControllerEvent } from '../../src/core/types.js';
import { DockerApi } from '../../src/infra/docker-api.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { containersOf, TEST_IMAGE, waitFor } from '../fixtures/docker/engine.js';
import { PrivateEngine } from '../fixtures/docker/private-engine.js';

const missing = PrivateEngine.missing();
const engine = missing ? undefined : new PrivateEngine();
after(() => engine?.destroy());

describe('docker engine unreachable for a while', {
  skip: missing && process.env.CI !== 'true' ? missing : false,
}, () => {
  test('is reported, and recovered from without losing track of any container', async () => {
    if (!engine) assert.fail(missing);
    await engine.start();
    engine.buildImage();
    const api = new DockerApi({ kind: 'unix', socketPath: engine.socket });
    const run = `{ image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }`;
    const config = parseConfig(
      `
name: outage
capacity: { replicas: 4 }
interval: 100ms
scheduler: { type: docker, host: "${engine.host}", network: none }
services:
  web:
    priority: 1
    run: ${run}
    demand: { source: { type: static, value: 20 }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    run: ${run}
    demand: { rule: { type: remainder } }
`,
      { file: 'outage.yaml', sourceSchemas, schedulerSchemas },
    );
    const instance = await startInstance({
      config,
      clock: systemClock,
      logger: { log() {} },
      baseDir: process.cwd(),
    });
    const events: ControllerEvent[] = [];
    instance.controller.subscribe((e) => events.push(e));
    const ids = async () => (await containersOf(api, 'outage')).map((c) => c.Id).sort();
    try {
      await waitFor(
        '4 containers running',
        async () => {
          const s = instance.controller.snapshot().services;
          return s.every((x) => x.running === 2) && (await ids()).length === 4;
        },
        60_000,
      );
      const before = await ids();

      await engine.stop();
      await waitFor('the outage reported', () =>
        events.some((e) => e.kind === 'error' && /unreachable/.test(e.message)),
      );
      await new Promise((r) => setTimeout(r, 1000)); // a few ticks with no engine: nothing may be forgotten
      // Reported in the state, the live event log (GET /api/events) and the metrics, not only to listeners.
      const down = instance.controller.snapshot();
      assert.match(down.schedulerError ?? '', /docker engine unreachable/);
      assert.ok(
        down.services.every((x) => x.running === 2),
        'the last known counts are kept, not zeroed',
      );
      assert.ok(
        instance.controller.log.recent().some((e) => e.kind === 'error' && /unreachable/.test(e.message)),
      );
      const metricsDown = renderMetrics(down, instance.controller.metrics());
      assert.match(metricsDown, /^microscaler_scheduler_up 0$/m);
      assert.match(metricsDown, /^microscaler_observe_errors_total [1-9]\d*$/m);

      await engine.start();
      await waitFor('the recovery reported', () => events.some((e) => e.kind === 'recovered'), 30_000);
      await waitFor('the same 4 containers running, seen as running', async () => {
        const s = instance.controller.snapshot().services;
        return s.every((x) => x.running === 2 && x.starting === 0 && x.stopping === 0);
      });
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(await ids(), before, 'no container duplicated, replaced or lost');
      const up = instance.controller.snapshot();
      assert.equal(up.schedulerError, undefined, 'the outage cleared from the state');
      assert.match(renderMetrics(up, instance.controller.metrics()), /^microscaler_scheduler_up 1$/m);
      assert.ok(
        instance.controller.log
          .recent()
          .some((e) => e.kind === 'recovered' && /scheduler: recovered/.test(e.message)),
      );
    } finally {
      await instance.close({ drain: true });
      api.close();
    }
    assert.equal((await ids()).length, 0, 'drain removed them');
  });
});
