// End to end: the push source through a running instance's HTTP API (POST /api/services/NAME/demand).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import type { ServiceState } from '../../src/core/types.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { eventually, uniqueName } from './servers.js';

describe('push source through the API', () => {
  let work: string;
  let instance: Instance;
  let api = '';
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'microscaler-push-'));
    const name = uniqueName('push');
    const config = parseConfig(
      JSON.stringify({
        name,
        capacity: { replicas: 4 },
        scheduler: { type: 'process', stateDir: join(work, name) },
        services: {
          web: {
            scaleDownWindow: '500ms',
            run: { command: ['sleep', '600'], stopGrace: '1s' },
            demand: { source: { type: 'push', maxAge: '1500ms' }, rule: { type: 'target', perReplica: 10 } },
          },
        },
      }),
      { sourceSchemas, schedulerSchemas, file: 'push.json' },
    );
    instance = await startInstance({
      config,
      clock: systemClock,
      logger: silentLogger,
      baseDir: work,
      listen: '127.0.0.1:0',
    });
    api = instance.api?.url ?? '';
  });
  after(async () => {
    await instance?.close({ drain: true });
    rmSync(work, { recursive: true, force: true });
  });

  const web = () => instance.controller.snapshot().services.find((s) => s.name === 'web') as ServiceState;
  const push = (body: unknown, service = 'web') =>
    fetch(`${api}/api/services/${service}/demand`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('a pushed value drives the service; a stale one counts as missing and the service holds', async () => {
    assert.equal((await push({ value: 25 })).status < 300, true);
    await eventually(() => web().value === 25 && web().running === 3, 'value 25 → 3 replicas', 10_000);
    assert.equal((await push({ value: 5 })).status < 300, true);
    await eventually(() => web().running === 1, 'value 5 → 1 replica', 10_000);
    // No push for longer than maxAge: missing, not zero; the service keeps its replica.
    await eventually(() => web().error, 'stale value reported', 5000);
    assert.match(web().error ?? '', /old \(maxAge 1\.5s\)/);
    assert.equal(web().desired, 1);
    assert.equal((await push({ value: 0 })).status < 300, true);
    await eventually(() => web().error === undefined && web().running === 0, 'value 0 → none', 10_000);
  });

  test('bad pushes are refused and change nothing', async () => {
    assert.equal((await push({ value: 12 })).status < 300, true);
    const cases: [unknown, string][] = [
      [{ value: -1 }, 'web'],
      [{ value: 'ten' }, 'web'],
      [{}, 'web'],
      [{ value: 3 }, 'nosuch'],
    ];
    for (const [body, service] of cases) {
      const res = await push(body, service);
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
    }
    await eventually(() => web().value === 12, 'the last good value stands', 5000);
  });
});
