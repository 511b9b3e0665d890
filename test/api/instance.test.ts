// The API as `run` and `demo` wire it (startInstance): token from the environment, demand set by hand for
// overridable services, the dashboard's real files, the event stream over a real controller loop.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';

// Demands of 0 start no replica: these tests are about the API, not about processes.
function config(stateDir: string, token = '') {
  return parseConfig(
    `
name: api-test
capacity: { replicas: 4 }
interval: 100ms
scheduler: { type: process, stateDir: ${JSON.stringify(stateDir)} }
${token ? `api: { token: ${token} }` : ''}
services:
  web:
    priority: 1
    run: { command: [sleep, "3600"] }
    demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 1000 } }
  pushed:
    priority: 2
    run: { command: [sleep, "3600"] }
    demand: { source: { type: push }, rule: { type: target, perReplica: 1000 } }
  other:
    priority: 2
    run: { command: [sleep, "3600"] }
    demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 1000 } }
  fill:
    priority: 3
    max: 0
    run: { command: [sleep, "3600"] }
    demand: { rule: { type: remainder } }
`,
    { file: 'api-test.yaml', sourceSchemas, schedulerSchemas, env: {} },
  );
}

async function start(
  t: { after(fn: () => Promise<void>): void },
  options: { listen?: string; env?: Record<string, string>; token?: string; overridable?: string[] } = {},
): Promise<Instance & { base: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-api-'));
  let instance: Instance | undefined;
  t.after(async () => {
    await instance?.close({ drain: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  instance = await startInstance({
    config: config(stateDir, options.token),
    clock: systemClock,
    logger: silentLogger,
    baseDir: process.cwd(),
    listen: options.listen ?? '127.0.0.1:0',
    overridable: options.overridable ?? ['web'],
    overrideMs: 60_000,
    env: options.env ?? {},
  });
  // Requests go to loopback even when the server listens on every interface.
  const base = (instance.api?.url ?? '').replace(/\/\/[^/]+:/, '//127.0.0.1:');
  return Object.assign(instance, { base });
}

type State = {
  services: { name: string; value: number | null; acceptsDemand: boolean; override?: object }[];
};

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the API of a running instance', () => {
  test('demand set by hand overrides an overridable source; push sources take it; others refuse', async (t) => {
    const { base } = await start(t);
    const post = (name: string, value: number) =>
      fetch(`${base}/api/services/${name}/demand`, { method: 'POST', body: JSON.stringify({ value }) });
    assert.equal((await post('web', 1500)).status, 200);
    assert.equal((await post('pushed', 7)).status, 200);
    const refused = await post('other', 1);
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /source is "static"/);
    await until('the values in the state', async () => {
      const s = (await (await fetch(`${base}/api/state`)).json()) as State;
      return s.services.find((x) => x.name === 'web')?.value === 1500;
    });
    const state = (await (await fetch(`${base}/api/state`)).json()) as State;
    const byName = Object.fromEntries(state.services.map((s) => [s.name, s]));
    assert.deepEqual(Object.fromEntries(state.services.map((s) => [s.name, s.acceptsDemand])), {
      web: true,
      pushed: true,
      other: false,
      fill: false,
    });
    assert.ok(byName.web?.override, 'the state says web is held by hand');
    assert.equal(byName.pushed?.override, undefined);
  });

  test('MICROSCALER_TOKEN guards writes when the config has no token; the config token wins', async (t) => {
    const fromEnv = await start(t, { listen: '0.0.0.0:0', env: { MICROSCALER_TOKEN: 'envtoken' } });
    const pause = (base: string, token?: string) =>
      fetch(`${base}/api/services/web/pause`, {
        method: 'POST',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    assert.equal((await pause(fromEnv.base)).status, 401);
    assert.equal((await pause(fromEnv.base, 'envtoken')).status, 200);
    const fromConfig = await start(t, { env: { MICROSCALER_TOKEN: 'envtoken' }, token: 'cfgtoken' });
    assert.equal((await pause(fromConfig.base, 'envtoken')).status, 401);
    assert.equal((await pause(fromConfig.base, 'cfgtoken')).status, 200);
    const none = await start(t, { listen: '0.0.0.0:0' });
    assert.equal((await pause(none.base)).status, 403);
  });

  test('serves the dashboard from the package, and its files', async (t) => {
    const { base } = await start(t);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/dashboard\.js"><\/script>/);
    for (const file of ['/dashboard.js', '/dashboard.css', '/favicon.svg']) {
      assert.equal((await fetch(`${base}${file}`)).status, 200, file);
    }
  });

  test('an overridable service must exist and have a source', async (t) => {
    for (const [name, problem] of [['nope', 'overridable: no service named "nope"']] as const) {
      await assert.rejects(start(t, { overridable: [name] }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.problems, [problem]);
        return true;
      });
    }
  });
});
