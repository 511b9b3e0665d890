// A pushed value is acted on at once, not at the end of the interval (startInstance nudges the loop).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';

const INTERVAL_MS = 10_000;

test('POST demand with a 10 s interval: planned and scaled well within a second, not at the next tick', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-push-'));
  const config = parseConfig(
    `
name: push-now-${process.pid}
capacity: { replicas: 4 }
interval: ${INTERVAL_MS}ms
scheduler: { type: process, stateDir: ${JSON.stringify(stateDir)} }
services:
  web:
    run: { command: [sleep, "3600"] }
    demand: { source: { type: push }, rule: { type: target, perReplica: 10 } }
`,
    { file: 'push.yaml', sourceSchemas, schedulerSchemas, env: {} },
  );
  const instance = await startInstance({
    config,
    clock: systemClock,
    logger: silentLogger,
    baseDir: process.cwd(),
    listen: '127.0.0.1:0',
    env: {},
  });
  t.after(async () => {
    await instance.close({ drain: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  const base = instance.api?.url ?? '';
  await delay(300); // the first tick is over: the loop sleeps for 10 s
  const sent = performance.now();
  const res = await fetch(`${base}/api/services/web/demand`, {
    method: 'POST',
    body: JSON.stringify({ value: 30 }),
  });
  assert.equal(res.status, 200);
  for (;;) {
    const web = instance.controller.snapshot().services[0];
    if (web && web.desired === 3 && web.running + web.starting === 3) break;
    assert.ok(performance.now() - sent < 2000, `not scaled 2 s after the push: ${JSON.stringify(web)}`);
    await delay(10);
  }
  const took = performance.now() - sent;
  assert.ok(took < 1000, `scaled ${Math.round(took)} ms after the push`);
});
