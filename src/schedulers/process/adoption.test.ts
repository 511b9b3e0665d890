// Adoption in the process back-end: a restarted or second scheduler on the same state folder takes over the
// replicas that run (after a SIGKILL, a drop without stopping, a service gone from the config, a shared folder).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import {
  alive,
  context,
  FIXTURE,
  held,
  pidsOf,
  ROOT,
  records,
  SLEEP,
  stateDir,
  stopAllAndCheck,
  waitFor,
} from '../../../test/fixtures/process/scheduler-kit.js';
import { ProcessScheduler } from './index.js';

test('a restarted scheduler adopts the replicas of one that was killed with SIGKILL', async (t) => {
  const { dir, pids } = await stateDir(t);
  // A real microscaler process (the fixture) starts 3 replicas and dies without cleaning up.
  const fixture = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, 'test', '3'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (fixture.exitCode === null && fixture.signalCode === null) fixture.kill('SIGKILL');
  });
  const [line] = (await once(fixture.stdout, 'data')) as [Buffer];
  const started = JSON.parse(line.toString()) as number[];
  for (const pid of started) pids.add(pid);
  assert.equal(started.length, 3);
  fixture.kill('SIGKILL');
  await once(fixture, 'exit');
  for (const pid of started) assert.ok(alive(pid), 'replicas outlive microscaler');

  const ctx = context();
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  assert.deepEqual((await s.observe()).get('web'), { running: 3, starting: 0, stopping: 0 });
  assert.deepEqual(pidsOf(s).sort(), [...started].sort());
  assert.ok(s.list().every((r) => r.adopted));

  await s.scale('web', 3, 'same n');
  assert.deepEqual(pidsOf(s).sort(), [...started].sort(), 'no duplicates');

  const newest = Math.max(...s.list().map((r) => r.startedAt));
  const changed = new Promise<string>((resolve) => s.watch(resolve));
  await s.scale('web', 2, 'test');
  const stopping = s.list().find((r) => r.state === 'stopping');
  assert.ok(stopping?.pid);
  assert.equal(stopping.startedAt, newest, 'the newest replica is stopped');
  assert.equal(await held(changed), 'web', 'an adopted replica that stops is reported');
  assert.equal(alive(stopping.pid), false);
  assert.deepEqual((await s.observe()).get('web'), { running: 2, starting: 0, stopping: 0 });

  await stopAllAndCheck(s, dir, pids);
});

test('a scheduler dropped without stopping leaves replicas that the next one adopts', async (t) => {
  const { dir, pids } = await stateDir(t);
  const first = await ProcessScheduler.create({ stateDir: dir }, context());
  await first.scale('web', 2, 'test');
  const started = pidsOf(first, pids);
  await first.close();

  const s = await ProcessScheduler.create({ stateDir: dir }, context());
  assert.deepEqual((await s.observe()).get('web'), { running: 2, starting: 0, stopping: 0 });
  await s.scale('web', 2, 'same n');
  assert.deepEqual(pidsOf(s).sort(), [...started].sort());
  await stopAllAndCheck(s, dir, pids);
});

test('replicas of a service no longer in the config are adopted, reported, and can only be stopped', async (t) => {
  const { dir, pids } = await stateDir(t);
  const before = await ProcessScheduler.create({ stateDir: dir }, context({ web: SLEEP, old: SLEEP }));
  await before.scale('old', 2, 'test');
  const [pid] = pidsOf(before, pids);
  assert.ok(pid);
  await before.close();

  const ctx = context({ web: SLEEP });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  // Reported, so that the controller counts them against capacity (and stops them, or keeps them).
  assert.deepEqual((await s.observe()).get('old'), { running: 2, starting: 0, stopping: 0 });
  assert.ok(ctx.logs.some((e) => e.message.includes('"old", which is not in the config, adopted')));
  await assert.rejects(s.scale('old', 3, 'test'), /unknown service "old"/);
  await assert.rejects(s.scale('gone', 0, 'test'), /unknown service "gone"/);
  await s.scale('old', 0, 'removed from the config');
  await waitFor('the removed replicas to stop', () => !alive(pid));
  await waitFor('them to leave observe', () => s.list().length === 0);
  await stopAllAndCheck(s, dir, pids);
});

test('two schedulers on one state folder: B adopts what A started after B, can stop it, and A sees it go', async (t) => {
  const { dir, pids } = await stateDir(t);
  // Sharing a folder is what `ha:` is for: without it the second one is refused (lock.ts).
  const a = await ProcessScheduler.create({ stateDir: dir }, { ...context(), ha: true });
  const b = await ProcessScheduler.create({ stateDir: dir }, { ...context(), ha: true });
  await a.scale('web', 3, 'leader');
  const started = pidsOf(a, pids).sort();
  // B knew nothing when it started; one observe later it knows all three, each once.
  assert.deepEqual((await b.observe()).get('web'), { running: 3, starting: 0, stopping: 0 });
  assert.deepEqual(pidsOf(b).sort(), started);
  assert.ok(b.list().every((r) => r.adopted));
  assert.deepEqual((await b.observe()).get('web'), { running: 3, starting: 0, stopping: 0 }, 'adopted once');

  // B (say, after a take-over) scales down: it signals A's children, A sees them exit.
  const signalled: string[] = [];
  const unwatch = a.watch((s) => signalled.push(s));
  await b.scale('web', 1, 'follower took over');
  await held(waitFor('the two stops, seen by B', () => b.list().length === 1));
  await held(waitFor('A to see them exit', () => a.list().length === 1));
  unwatch();
  assert.ok(signalled.includes('web'));
  assert.deepEqual(
    a.list().map((r) => r.pid),
    b.list().map((r) => r.pid),
    'both keep the same survivor',
  );
  await waitFor('records of stopped replicas removed', () => records(dir).length === 1);
  // A starts one more; B adopts it; B stops everything (A's children included).
  await a.scale('web', 2, 'leader again');
  pidsOf(a, pids);
  assert.deepEqual((await b.observe()).get('web'), { running: 2, starting: 0, stopping: 0 });
  await a.close();
  await stopAllAndCheck(b, dir, pids);
});
