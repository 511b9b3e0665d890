// The process back-end's replica life: start, idempotent scale, newest-first scale-down, the grace period
// before SIGKILL, a replica killed from outside, and a stop that comes before the spawn. Real processes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  alive,
  context,
  held,
  pidsOf,
  records,
  SLEEP,
  stateDir,
  stopAllAndCheck,
  waitFor,
} from '../../../test/fixtures/process/scheduler-kit.js';
import type { RunSpec } from '../../core/types.js';
import { ProcessScheduler } from './index.js';

test('starts replicas, scale is idempotent, scale-down stops the newest first', async (t) => {
  const { dir, pids } = await stateDir(t);
  const ctx = context({ web: SLEEP, batch: SLEEP });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);

  await s.scale('web', 1, 'test');
  const [first] = pidsOf(s, pids);
  assert.ok(first);
  // When the first new replica reports its start, the other one is still starting (and counted).
  const firstReport: string[][] = [];
  const unwatch = s.watch(() => {
    if (firstReport.length === 0) firstReport.push(s.list().map((r) => r.state));
  });
  await s.scale('web', 3, 'test');
  unwatch();
  assert.deepEqual(firstReport, [['running', 'running', 'starting']]);
  const three = pidsOf(s, pids);
  assert.deepEqual((await s.observe()).get('web'), { running: 3, starting: 0, stopping: 0 });
  assert.deepEqual((await s.observe()).get('batch'), { running: 0, starting: 0, stopping: 0 });
  assert.equal(records(dir).length, 3);

  // Labelled through the environment, in its own process group, output in its own log.
  const replica = s.list()[0];
  assert.ok(replica);
  const environ = readFileSync(`/proc/${first}/environ`, 'latin1').split('\0');
  assert.ok(environ.includes('MICROSCALER_INSTANCE=test'));
  assert.ok(environ.includes('MICROSCALER_SERVICE=web'));
  assert.ok(environ.includes(`MICROSCALER_REPLICA=${replica.id}`));
  assert.equal(readFileSync(`/proc/${first}/stat`, 'utf8').split(') ')[1]?.split(' ')[2], String(first));
  assert.ok(readdirSync(join(dir, 'logs')).includes(`web-${replica.id}.log`));

  await s.scale('web', 3, 'again');
  assert.deepEqual(pidsOf(s), three, 'idempotent: no new replicas');

  await s.scale('web', 1, 'test');
  // Read at once: a stopped sleep exits within moments, and observe() may let that happen first.
  assert.deepEqual(
    s
      .list()
      .map((r) => r.state)
      .sort(),
    ['running', 'stopping', 'stopping'],
  );
  assert.deepEqual(
    s
      .list()
      .filter((r) => r.state === 'running')
      .map((r) => r.pid),
    [first],
    'the oldest replica survives',
  );
  await waitFor('the two stops', () => s.list().length === 1);
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 0 });
  for (const pid of three.filter((p) => p !== first)) assert.equal(alive(pid), false);
  await waitFor('their records to go', () => records(dir).length === 1);

  await stopAllAndCheck(s, dir, pids);
});

test('a replica that ignores SIGTERM is killed after the grace period, and counts as stopping until then', async (t) => {
  const { dir, pids } = await stateDir(t);
  const stubborn: RunSpec = {
    command: ['sh', '-c', "trap '' TERM; echo ready; exec sleep 30"],
    stopGraceMs: 200,
  };
  const ctx = context({ web: stubborn });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  await s.scale('web', 1, 'test');
  const [pid] = pidsOf(s, pids);
  const replica = s.list()[0];
  assert.ok(pid && replica);
  const log = join(dir, 'logs', `web-${replica.id}.log`);
  await waitFor('the trap to be set', () => readFileSync(log, 'utf8').includes('ready'));

  const changes: string[] = [];
  s.watch((service) => changes.push(service));
  const t0 = Date.now();
  await s.scale('web', 0, 'test');
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 1 });
  await sleep(100);
  if (Date.now() - t0 < 180) {
    // (Skipped on a machine so loaded that the grace period is nearly over already.)
    assert.ok(alive(pid), 'SIGTERM is ignored');
    assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 1 });
    assert.deepEqual(changes, []);
  }

  await waitFor('the SIGKILL', () => changes.length > 0);
  assert.ok(Date.now() - t0 >= 190, `gone after ${Date.now() - t0}ms, before the grace period`);
  assert.deepEqual(changes, ['web']);
  assert.equal(alive(pid), false);
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
  assert.ok(ctx.logs.some((e) => e.level === 'warn' && e.message.includes('SIGKILL')));

  await stopAllAndCheck(s, dir, pids);
});

test('a replica killed from outside is reported via watch and disappears from observe', async (t) => {
  const { dir, pids } = await stateDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context());
  const seen: string[] = [];
  const dropped: string[] = [];
  s.watch((service) => seen.push(service));
  const unsubscribe = s.watch((service) => dropped.push(service));

  await s.scale('web', 2, 'test');
  assert.deepEqual(seen, ['web', 'web'], 'each start is reported');
  unsubscribe();
  const [victim, survivor] = pidsOf(s, pids);
  assert.ok(victim && survivor);

  seen.length = 0;
  const reported = new Promise<string>((resolve) => s.watch(resolve));
  process.kill(victim, 'SIGKILL');
  assert.equal(await held(reported), 'web');
  assert.deepEqual(seen, ['web']);
  assert.deepEqual(dropped, ['web', 'web'], 'an unsubscribed watcher hears nothing more');
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 0 });
  assert.deepEqual(pidsOf(s), [survivor]);
  await waitFor('its record to go', () => records(dir).length === 1);

  await s.scale('web', 2, 'replace the crashed one');
  assert.equal(pidsOf(s, pids).length, 2);
  await stopAllAndCheck(s, dir, pids);
});

test('a replica stopped before its spawn never runs', async (t) => {
  const { dir, pids } = await stateDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context());
  const scaling = s.scale('web', 2, 'test');
  // stopAll as soon as they are tracked: they are still writing their pending records (or just spawned).
  while (s.list().length < 2) await new Promise((r) => setImmediate(r));
  const beforeSpawn = s.list().filter((r) => r.pid === undefined).length;
  await s.stopAll();
  await scaling;
  pidsOf(s, pids);
  assert.ok(beforeSpawn > 0, 'the stop came before a spawn');
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
  assert.deepEqual(records(dir), []);
  await stopAllAndCheck(s, dir, pids);
});
