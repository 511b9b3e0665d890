import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { RunSpec } from '../../core/types.js';
import { systemClock } from '../../infra/system-clock.js';
import { defaultStateDir, ProcessScheduler, readProcStat } from './index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/process/run-scheduler.ts');
const SLEEP: RunSpec = { command: ['sleep', '30'], stopGraceMs: 200 };

interface Entry {
  level: LogLevel;
  message: string;
}

function context(
  services: Record<string, RunSpec> = { web: SLEEP },
  instance = 'test',
): SchedulerContext & { logs: Entry[] } {
  const logs: Entry[] = [];
  return {
    clock: systemClock,
    logger: { log: (level, message) => logs.push({ level, message }) },
    instance,
    services: Object.entries(services).map(([name, run]) => ({ name, run })),
    logs,
  };
}

/** Alive and not a zombie (an orphan may stay a zombie if nobody reaps it). */
function alive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Replicas are unref'd children (microscaler may exit while they run), so while a test only awaits one of
 * their events, something must keep the event loop alive, as the controller's timers do in a real run.
 */
async function held<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/**
 * A fresh state directory, removed after the test, and a safety net that kills any process the test
 * registered in `pids` if an assertion failed before its stopAll.
 */
async function stateDir(t: TestContext): Promise<{ dir: string; pids: Set<number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-process-'));
  const pids = new Set<number>();
  t.after(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, pids };
}

function pidsOf(scheduler: ProcessScheduler, track?: Set<number>): number[] {
  const pids = scheduler.list().flatMap((r) => (r.pid === undefined ? [] : [r.pid]));
  for (const pid of pids) track?.add(pid);
  return pids;
}

/** The record files in the state directory (none when it does not exist). */
function records(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'replicas')).sort();
  } catch {
    return [];
  }
}

/** Every test ends here: stopAll, then no replica process and no record is left. */
async function stopAllAndCheck(
  scheduler: ProcessScheduler,
  dir: string,
  pids: Iterable<number>,
): Promise<void> {
  await scheduler.stopAll();
  await scheduler.close();
  for (const pid of pids) assert.equal(alive(pid), false, `replica ${pid} is still running`);
  await waitFor('records to be removed', () => records(dir).length === 0);
}

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

test('a command that does not exist rejects with a clear error and leaves nothing behind', async (t) => {
  const { dir, pids } = await stateDir(t);
  const ctx = context({ web: { command: ['no-such-command-microscaler', '--flag'] } });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  await assert.rejects(s.scale('web', 2, 'test'), (error: Error) => {
    assert.match(error.message, /"web"/);
    assert.match(error.message, /no-such-command-microscaler/);
    assert.match(error.message, /ENOENT/);
    assert.match(error.message, /2 of 2 replicas failed/);
    return true;
  });
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
  assert.deepEqual(records(dir), []);
  await stopAllAndCheck(s, dir, pids);
});

test('an unusable state directory fails scale with a clear error, not a crash', async (t) => {
  const { dir, pids } = await stateDir(t);
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  const s = await ProcessScheduler.create({ stateDir: join(file, 'state') }, context());
  await assert.rejects(s.scale('web', 1, 'test'), /state directory .*a-file\/state is not usable/);
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
  await stopAllAndCheck(s, dir, pids);
});

test('rejects service names and counts it cannot act on', async (t) => {
  const { dir } = await stateDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context());
  await assert.rejects(s.scale('../../etc', 1, 'test'), /unknown service/);
  await assert.rejects(s.scale('other', 1, 'test'), /unknown service "other"/);
  await assert.rejects(s.scale('web', -1, 'test'), RangeError);
  await assert.rejects(s.scale('web', 1.5, 'test'), RangeError);
  await s.close();
  await assert.rejects(s.scale('web', 1, 'test'), /closed/);
});

test('the default state directory follows XDG and refuses instance names that are paths', () => {
  assert.equal(defaultStateDir('shop', { XDG_STATE_HOME: '/var/x' }), '/var/x/microscaler/shop');
  assert.match(defaultStateDir('shop', {}), /\/\.local\/state\/microscaler\/shop$/);
  assert.match(
    defaultStateDir('shop', { XDG_STATE_HOME: 'relative' }),
    /\/\.local\/state\/microscaler\/shop$/,
  );
  assert.throws(() => defaultStateDir('../etc', {}), /name:/);
  assert.throws(() => defaultStateDir('..', {}), /name:/);
});

/** Spawns a sleep labelled as replica `id` of `service`, as microscaler would, without any record. */
async function labelledSleep(id: string, service = 'web', instance = 'test'): Promise<ChildProcess> {
  const child = spawn('sleep', ['30'], {
    stdio: 'ignore',
    detached: true,
    env: {
      ...process.env,
      MICROSCALER_INSTANCE: instance,
      MICROSCALER_SERVICE: service,
      MICROSCALER_REPLICA: id,
    },
  });
  await once(child, 'spawn');
  return child;
}

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
