// The state folder's records are never trusted blindly: stale, pending, corrupt or truncated ones are removed,
// completed or set aside, and no pid is signalled unless /proc shows it is our replica. Real processes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  alive,
  context,
  labelledSleep,
  pidsOf,
  records,
  stateDir,
  stopAllAndCheck,
  waitFor,
} from '../../../test/fixtures/process/scheduler-kit.js';
import { ProcessScheduler, readProcStat } from './index.js';

test('stale records are removed and their pids never signalled', async (t) => {
  const { dir, pids } = await stateDir(t);
  const strangers: ChildProcess[] = [];
  t.after(() => {
    for (const c of strangers) c.kill('SIGKILL');
  });
  const replicas = join(dir, 'replicas');
  await mkdir(replicas);
  const record = async (id: string, pid: number, startTime: number) =>
    writeFile(
      join(replicas, `${id}.json`),
      JSON.stringify({
        id,
        service: 'web',
        instance: 'test',
        pid,
        startTime,
        command: ['sleep'],
        startedAt: 1,
      }),
    );
  const startTimeOf = (pid: number) => readProcStat(pid)?.startTime ?? assert.fail(`no process ${pid}`);

  // The test runner itself: alive, right start time, but not labelled.
  await record('self', process.pid, startTimeOf(process.pid));
  // A process we started ourselves, without microscaler's labels.
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  strangers.push(stranger);
  await once(stranger, 'spawn');
  assert.ok(stranger.pid);
  await record('stranger', stranger.pid, startTimeOf(stranger.pid));
  // Labelled like a replica, but not the process the record describes (as after pid reuse).
  const impostor = spawn('sleep', ['30'], {
    stdio: 'ignore',
    detached: true,
    env: {
      ...process.env,
      MICROSCALER_INSTANCE: 'test',
      MICROSCALER_SERVICE: 'web',
      MICROSCALER_REPLICA: 'impostor',
    },
  });
  strangers.push(impostor);
  await once(impostor, 'spawn');
  assert.ok(impostor.pid);
  await record('impostor', impostor.pid, startTimeOf(impostor.pid) + 1);
  // A process that has exited.
  const dead = spawn('true');
  await once(dead, 'exit');
  assert.ok(dead.pid);
  await record('dead', dead.pid, 1);
  // Garbage.
  await writeFile(join(replicas, 'junk.json'), '{not json');

  const ctx = context();
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  assert.deepEqual(records(dir), ['junk.json.corrupt'], 'stale records removed, garbage set aside');
  assert.ok(ctx.logs.some((e) => e.level === 'warn' && e.message.includes('junk.json')));
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });

  await s.scale('web', 1, 'test');
  pidsOf(s, pids);
  await s.stopAll();
  await s.close();
  for (const pid of pids) assert.equal(alive(pid), false);
  assert.ok(alive(stranger.pid) && alive(impostor.pid), 'unrelated processes are never signalled');
  await rm(join(replicas, 'junk.json.corrupt'));
  assert.deepEqual(records(dir), []);
});

test('a pending record (microscaler died between spawn and pid) is adopted through the environment; one without a process is removed when old', async (t) => {
  const { dir, pids } = await stateDir(t);
  const replicas = join(dir, 'replicas');
  await mkdir(replicas, { recursive: true });
  const pending = (id: string, startedAt: number, writer?: { pid: number; startTime: number }) =>
    writeFile(
      join(replicas, `${id}.json`),
      JSON.stringify({ id, service: 'web', instance: 'test', command: ['sleep', '30'], startedAt, writer }),
    );
  const deadWriter = spawn('true');
  await once(deadWriter, 'exit');
  assert.ok(deadWriter.pid);
  const orphan = await labelledSleep('orphan-1');
  assert.ok(orphan.pid);
  pids.add(orphan.pid);
  await pending('orphan-1', Date.now());
  await pending('young-1', Date.now()); // being spawned by someone else right now, perhaps
  await pending('old-1', Date.now() - 60_000); // its writer died before the spawn
  // Its writer is dead, and long enough ago that a spawn it began would have exec'd: removed at once.
  await pending('orphaned-1', Date.now() - 2000, { pid: deadWriter.pid, startTime: 1 });
  // The writer lives (the test runner stands in for another instance): kept while young.
  const self = { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? 0 };
  await pending('writing-1', Date.now() - 2000, self);

  const ctx = context();
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 0 });
  assert.deepEqual(pidsOf(s), [orphan.pid]);
  assert.deepEqual(
    records(dir),
    ['orphan-1.json', 'writing-1.json', 'young-1.json'],
    'old and orphaned pending records removed',
  );
  const completed = JSON.parse(readFileSync(join(replicas, 'orphan-1.json'), 'utf8')) as { pid: number };
  assert.equal(completed.pid, orphan.pid, 'the record is completed with the pid');
  await s.scale('web', 1, 'same n');
  assert.deepEqual(pidsOf(s), [orphan.pid], 'no duplicate');
  await rm(join(replicas, 'young-1.json'));
  await rm(join(replicas, 'writing-1.json'));
  await stopAllAndCheck(s, dir, pids);
});

test('corrupt or truncated records never break start-up and are never trusted; a replica behind one is found by its environment', async (t) => {
  const { dir, pids } = await stateDir(t);
  const replicas = join(dir, 'replicas');
  await mkdir(replicas, { recursive: true });
  const behind = await labelledSleep('trunc-1');
  assert.ok(behind.pid);
  pids.add(behind.pid);
  // Truncated half-way, as after a crash of the machine; an empty file; a record claiming pid 1.
  const full = JSON.stringify({
    id: 'trunc-1',
    service: 'web',
    instance: 'test',
    pid: behind.pid,
    startTime: readProcStat(behind.pid)?.startTime,
    command: ['sleep', '30'],
    startedAt: Date.now(),
  });
  await writeFile(join(replicas, 'trunc-1.json'), full.slice(0, full.length / 2));
  await writeFile(join(replicas, 'empty-1.json'), '');
  await writeFile(
    join(replicas, 'init-1.json'),
    JSON.stringify({
      id: 'init-1',
      service: 'web',
      instance: 'test',
      pid: 1,
      startTime: 0,
      command: [],
      startedAt: 1,
    }),
  );
  await writeFile(join(replicas, 'left.json.abc123.tmp'), '{"id":');

  const ctx = context();
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 0 });
  assert.deepEqual(pidsOf(s), [behind.pid]);
  assert.deepEqual(records(dir), [
    'empty-1.json.corrupt',
    'init-1.json.corrupt', // pid 1 is no replica's pid: the record is not believed
    'left.json.abc123.tmp', // young: perhaps another instance's write in progress
    'trunc-1.json', // completed again from the process's environment
  ]);
  assert.ok(ctx.logs.some((e) => e.level === 'warn' && e.message.includes('empty-1.json')));
  // Scans after start-up do not warn again about what they set aside.
  const warnings = ctx.logs.filter((e) => e.level === 'warn').length;
  await s.observe();
  await s.observe();
  assert.equal(ctx.logs.filter((e) => e.level === 'warn').length, warnings);
  await s.scale('web', 2, 'test');
  pidsOf(s, pids);
  await s.stopAll();
  await s.close();
  for (const pid of pids) assert.equal(alive(pid), false);
  await waitFor("the stopped replicas' records to go", () => records(dir).length === 3);
  assert.deepEqual(records(dir), ['empty-1.json.corrupt', 'init-1.json.corrupt', 'left.json.abc123.tmp']);
});
