// A service removed from the config between two `run`s (process back-end, real processes, the CLI as a user
// runs it): its replicas count against capacity and are stopped; `--keep-removed` keeps them running, still
// counted. Replica processes are counted in /proc, independently of microscaler, while it runs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { cli, processesWith } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'microscaler-removed-cli-'));
const instances: string[] = [];
after(() => {
  for (const name of instances) {
    for (const p of processesWith(`MICROSCALER_INSTANCE=${name}`)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
});

const service = (name: string, replicas: number) => `
  ${name}:
    priority: 1
    run: { command: [sleep, "300"], stopGrace: 1s }
    demand: { rule: { type: fixed, replicas: ${replicas} } }`;

/** A config of instance `name` with these services (fixed replicas each), capacity 6. */
function config(name: string, services: Record<string, number>): string {
  const path = join(work, `${name}-${Object.keys(services).join('-')}.yaml`);
  const body = Object.entries(services)
    .map(([s, n]) => service(s, n))
    .join('');
  writeFileSync(
    path,
    `name: ${name}
capacity: { replicas: 6 }
interval: 50ms
scheduler: { type: process, stateDir: ${join(work, `state-${name}`)} }
services:${body}
`,
  );
  return path;
}

const replicas = (name: string, svc?: string) =>
  processesWith(`MICROSCALER_INSTANCE=${name}`).filter(
    (p) => svc === undefined || processesWith(`MICROSCALER_SERVICE=${svc}`).some((q) => q.pid === p.pid),
  ).length;

/**
 * Runs `run` with args until `done(output)` (or 30 s), sampling /proc; then SIGTERM. Returns the most replica
 * processes seen at once.
 */
async function runUntil(name: string, args: string[], done: (out: string) => boolean): Promise<number> {
  const r = cli(['run', '--listen', '127.0.0.1:0', ...args]);
  let most = 0;
  const started = Date.now();
  try {
    while (Date.now() < started + 30_000) {
      most = Math.max(most, replicas(name));
      if (done(r.out())) break;
      await delay(10);
    }
  } finally {
    r.child.kill('SIGTERM');
    const result = await r.done;
    assert.ok(result.code === 0 || result.signal === 'SIGTERM', result.stderr);
  }
  return most;
}

/** Instance `name` after a run of a config with web ×2 and old ×4 (left running: no --stop-on-exit). */
async function leftovers(): Promise<string> {
  const name = `removed-${randomBytes(3).toString('hex')}`;
  instances.push(name);
  await runUntil(name, ['-c', config(name, { web: 2, old: 4 })], () => replicas(name, 'old') === 4);
  await delay(200);
  assert.equal(replicas(name, 'old'), 4);
  return name;
}

describe('run after a service was removed from the config', () => {
  test('its replicas count against capacity and are stopped', async () => {
    const name = await leftovers();
    const most = await runUntil(
      name,
      ['-c', config(name, { web: 6 }), '--stop-on-exit'],
      (out) => out.includes('api listening') && replicas(name, 'old') === 0 && replicas(name, 'web') === 6,
    );
    assert.ok(most <= 6, `${most} replica processes at once on a capacity of 6`);
    assert.equal(replicas(name, 'old'), 0);
    await delay(200);
    assert.equal(replicas(name), 0, '--stop-on-exit left nothing');
  });

  test('--keep-removed keeps them running and still counts them', async () => {
    const name = await leftovers();
    let seenAt: number | undefined;
    const afterTicks = () => {
      seenAt ??= Date.now();
      return Date.now() - seenAt > 1000;
    };
    const most = await runUntil(
      name,
      ['-c', config(name, { web: 6 }), '--keep-removed', '--stop-on-exit'],
      // Told, and a few ticks (50 ms each) after: nothing of old stopped, nothing more of web started.
      (out) => /old is not in the config.*kept running/.test(out) && afterTicks(),
    );
    assert.ok(most <= 6, `${most} replica processes at once on a capacity of 6`);
    assert.equal(replicas(name, 'old'), 4, 'kept, also by --stop-on-exit');
    assert.equal(replicas(name, 'web'), 0, `web stopped on exit (${replicas(name)} left)`);
  });
});
