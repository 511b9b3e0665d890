// What the API refuses and says (issue 13, item 16), on an instance as `run` wires it, and the CLI's plan.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { cli, run, waitFor } from '../cli/harness.js';

const CONFIG = (stateDir: string) => `
name: api-input-${process.pid}
capacity: { replicas: 4 }
interval: 100ms
scheduler: { type: process, stateDir: ${JSON.stringify(stateDir)} }
services:
  web:
    priority: 1
    max: 3
    run: { command: [sleep, "3600"] }
    demand: { source: { type: push }, rule: { type: target, perReplica: 10000 } }
  fill:
    priority: 2
    max: 0
    run: { command: [sleep, "3600"] }
    demand: { rule: { type: remainder } }
`;

async function start(t: { after(fn: () => Promise<void>): void }, listen = '127.0.0.1:0') {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-api-input-'));
  const config = parseConfig(CONFIG(stateDir), {
    file: 'api-input.yaml',
    sourceSchemas,
    schedulerSchemas,
    env: {},
  });
  const instance = await startInstance({
    config,
    clock: systemClock,
    logger: silentLogger,
    baseDir: process.cwd(),
    listen,
    env: {},
  });
  t.after(async () => {
    await instance.close({ drain: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  return { instance, base: instance.api?.url as string };
}

/** A raw HTTP exchange: what Node's own client would not send (no Host header). */
function raw(base: string, text: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    let answer = '';
    socket.on('data', (d) => {
      answer += d;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('the API refuses what it would otherwise half ignore', () => {
  test('POST .../demand with a field besides value: 400 naming it, nothing set', async (t) => {
    const { base } = await start(t);
    const r = await fetch(`${base}/api/services/web/demand`, {
      method: 'POST',
      body: JSON.stringify({ value: 5, valeu: 50 }),
    });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /unknown field "valeu"/);
    const ok = await fetch(`${base}/api/services/web/demand`, { method: 'POST', body: '{"value": 5}' });
    assert.equal(ok.status, 200);
  });

  test('PATCH with a key given twice: 400, the service unchanged', async (t) => {
    const { base } = await start(t);
    const r = await fetch(`${base}/api/services/web`, { method: 'PATCH', body: '{"max": 1, "max": 2}' });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /field "max" is given twice/);
    const service = (await (await fetch(`${base}/api/services/web`)).json()) as { max: number };
    assert.equal(service.max, 3);
    // the same in a demand body
    const nested = await fetch(`${base}/api/services/web/demand`, {
      method: 'POST',
      body: '{"value": 1, "value": 2}',
    });
    assert.equal(nested.status, 400);
  });

  test('a request without a Host header: a JSON 400 that says so', async (t) => {
    const { base } = await start(t);
    const answer = await raw(base, 'GET /api/state HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /content-type: application\/json/i);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    assert.match(body, /"error":"the Host header is missing/);
  });

  test('listening on 0.0.0.0: the address as bound, and the URL for this machine', async (t) => {
    const { instance } = await start(t, '0.0.0.0:0');
    assert.match(instance.api?.listening ?? '', /^http:\/\/0\.0\.0\.0:\d+$/);
    assert.match(instance.api?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('run prints where it listens', () => {
  test('on 0.0.0.0 it says 0.0.0.0 (every interface), not 127.0.0.1', async () => {
    const work = mkdtempSync(join(tmpdir(), 'microscaler-api-input-run-'));
    try {
      const file = join(work, 'listen.yaml');
      writeFileSync(file, CONFIG(join(work, 'state')).replace('api-input-', 'api-listen-'));
      const c = cli(['run', '-c', file, '--listen', '0.0.0.0:0'], {
        env: { MICROSCALER_TOKEN: 'secret-for-the-test' },
      });
      const line = await waitFor('the api line', () => /api listening on .*/.exec(c.out())?.[0], 30_000);
      c.child.kill('SIGTERM');
      await c.done;
      assert.match(
        line,
        /api listening on http:\/\/0\.0\.0\.0:\d+ \(every interface; from this machine: http:\/\/127\.0\.0\.1:\d+/,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('plan', () => {
  const work = mkdtempSync(join(tmpdir(), 'microscaler-plan-input-'));
  const file = join(work, 'plan.yaml');
  writeFileSync(file, CONFIG(join(work, 'state')).replace('perReplica: 10000', 'perReplica: 10'));
  test.after(() => rmSync(work, { recursive: true, force: true }));

  test('--demand for a service without a source: exit 2, saying why', async () => {
    const r = await run(['plan', '-c', file, '--demand', 'fill=3']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /service "fill" has no demand source \(its rule is remainder\)/);
  });

  test('--demand beyond what the API accepts (1e300): exit 2', async () => {
    const r = await run(['plan', '-c', file, '--demand', 'web=1e300']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--demand web=1e300: at most/);
  });

  test('the need column says what the reason line says', async () => {
    const r = await run(['plan', '-c', file, '--demand', 'web=1000']);
    assert.equal(r.code, 0, r.stderr);
    const need = /^web\s+1\s+1000\s+(\d+)/m.exec(r.stdout)?.[1];
    const reason = /scale up web 0→\d+: need (\d+)/.exec(r.stdout)?.[1];
    assert.ok(reason !== undefined, r.stdout);
    assert.equal(need, reason, r.stdout);
  });
});
