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
import type { LogLevel } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { RunSpec } from '../core/types.js';
import { systemClock } from '../infra/system-clock.js';
import { defaultStateDir, ProcessScheduler, readProcStat } from './process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
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
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 2 });
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
  assert.deepEqual(records(dir), ['junk.json'], 'stale records removed, garbage left alone');
  assert.ok(ctx.logs.some((e) => e.level === 'warn' && e.message.includes('junk.json')));
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });

  await s.scale('web', 1, 'test');
  pidsOf(s, pids);
  await s.stopAll();
  await s.close();
  for (const pid of pids) assert.equal(alive(pid), false);
  assert.ok(alive(stranger.pid) && alive(impostor.pid), 'unrelated processes are never signalled');
  await rm(join(replicas, 'junk.json'));
  assert.deepEqual(records(dir), []);
});

test('a replica of a service no longer in the config is left running, with a warning', async (t) => {
  const { dir, pids } = await stateDir(t);
  const before = await ProcessScheduler.create({ stateDir: dir }, context({ web: SLEEP, old: SLEEP }));
  await before.scale('old', 1, 'test');
  const [pid] = pidsOf(before, pids);
  assert.ok(pid);
  await before.close();

  const ctx = context({ web: SLEEP });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  assert.ok(ctx.logs.some((e) => e.level === 'warn' && e.message.includes('"old"')));
  assert.deepEqual([...(await s.observe()).keys()], ['web']);
  assert.deepEqual(s.list(), []);
  await s.stopAll();
  await s.close();
  assert.ok(alive(pid), 'not stopped');
  assert.equal(records(dir).length, 1, 'its record is kept');

  // Once the service is back in the config, it is adopted again.
  const after = await ProcessScheduler.create({ stateDir: dir }, context({ web: SLEEP, old: SLEEP }));
  assert.deepEqual((await after.observe()).get('old'), { running: 1, starting: 0, stopping: 0 });
  await stopAllAndCheck(after, dir, pids);
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
