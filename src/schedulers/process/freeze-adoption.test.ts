// Freezing meets adoption in the process back-end (issue 9): frozen replicas outlive a crashed microscaler
// and are adopted frozen, never thawed, never duplicated; /proc's word on frozen beats the record's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  context,
  counter,
  FIXTURE,
  frozenInProc,
  pidsBy,
  procState,
  ROOT,
  readCounter,
  recordCount,
  recordOf,
  SLEEP,
  stopAllAndCheck,
  waitFor,
  workDir,
} from '../../../test/fixtures/process/freeze-kit.js';
import { ProcessScheduler } from './index.js';

test('a new scheduler on the same state folder adopts frozen replicas as frozen, never thaws them, and trusts /proc over the record', async (t) => {
  const { dir, pids } = await workDir(t);
  // `ha`: it takes no lock, as its crash (below, by hand) would have released it.
  const first = await ProcessScheduler.create({ stateDir: dir }, { ...context({ web: SLEEP }), ha: true });
  await first.scaleWithPool('web', { replicas: 2, frozen: 3 }, 'test');
  const running = pidsBy(first, 'running', pids);
  const frozen = pidsBy(first, 'frozen', pids);
  assert.equal(running.length, 2);
  assert.equal(frozen.length, 3);
  // Crash windows, made by hand: a running replica stopped with its record saying running (a crash after
  // the SIGSTOP, before... or a SIGSTOP from elsewhere), and a frozen one continued with its record still
  // saying frozen (a crash after a SIGCONT, before the record).
  const [stoppedByHand] = running as [number, number];
  const [continuedByHand, ...stillFrozen] = frozen as [number, number, number];
  process.kill(-stoppedByHand, 'SIGSTOP');
  process.kill(-continuedByHand, 'SIGCONT');
  await waitFor(
    'the hand-made states',
    () => frozenInProc(stoppedByHand) && procState(continuedByHand) === 'S',
  );
  // `first` is abandoned without cleanup (no close, no stopAll), as after a crash.

  const ctx = context({ web: SLEEP });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  assert.deepEqual((await s.observe()).get('web'), { running: 2, starting: 0, stopping: 0, frozen: 3 });
  assert.ok(s.list().every((r) => r.adopted));
  assert.deepEqual(
    pidsBy(s, 'frozen'),
    [stoppedByHand, ...stillFrozen].sort((a, b) => a - b),
  );
  assert.deepEqual(
    pidsBy(s, 'running'),
    running
      .filter((p) => p !== stoppedByHand)
      .concat(continuedByHand)
      .sort((a, b) => a - b),
  );
  for (const pid of stillFrozen) assert.ok(frozenInProc(pid), 'adoption never thaws');
  await waitFor('records brought in line with /proc', () => {
    return (
      recordOf(dir, stoppedByHand)?.frozen === true && recordOf(dir, continuedByHand)?.frozen === undefined
    );
  });
  assert.match(ctx.logs.map((l) => l.message).join('\n'), /adopted 2 running and 3 frozen replica/);

  // Not duplicated: the same targets start nothing.
  await s.scaleWithPool('web', { replicas: 2, frozen: 3 }, 'same');
  assert.equal(s.list().length, 5);
  assert.equal(recordCount(dir), 5);

  // A frozen replica killed from outside is reported gone.
  const [victim] = stillFrozen as [number, number];
  process.kill(-victim, 'SIGKILL');
  await waitFor('the dead frozen replica to be reported gone', () => procState(victim) === undefined);
  assert.deepEqual((await s.observe()).get('web'), { running: 2, starting: 0, stopping: 0, frozen: 2 });

  // Adopted frozen replicas are thawed and removed like our own.
  await s.scaleWithPool('web', { replicas: 3, frozen: 0 }, 'up');
  assert.deepEqual((await s.observe()).get('web'), { running: 3, starting: 0, stopping: 0 });
  assert.equal(s.list().length, 3, 'one thawed, one removed, none started');
  await stopAllAndCheck(s, dir, pids);
});

test('observe trusts /proc: a replica stopped from elsewhere counts as frozen, one continued from elsewhere as running', async (t) => {
  const { dir, pids } = await workDir(t);
  const ctx = context({ web: SLEEP });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  await s.scaleWithPool('web', { replicas: 1, frozen: 1 }, 'test');
  const [running] = pidsBy(s, 'running', pids) as [number];
  const [frozen] = pidsBy(s, 'frozen', pids) as [number];
  // E.g. another instance sharing the state folder (a leader that froze and thawed), or a user.
  process.kill(-running, 'SIGSTOP');
  process.kill(-frozen, 'SIGCONT');
  await waitFor('the outside signals', () => frozenInProc(running) && procState(frozen) === 'S');
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 0, frozen: 1 });
  assert.deepEqual(pidsBy(s, 'frozen'), [running]);
  assert.deepEqual(pidsBy(s, 'running'), [frozen]);
  await waitFor(
    'records in line',
    () => recordOf(dir, running)?.frozen === true && recordOf(dir, frozen)?.frozen === undefined,
  );
  // And it is thawed (not cold-started) when wanted.
  await s.scaleWithPool('web', { replicas: 2, frozen: 0 }, 'up');
  assert.deepEqual(
    pidsBy(s, 'running'),
    [running, frozen].sort((a, b) => a - b),
  );
  await stopAllAndCheck(s, dir, pids);
});

test('kill -9 of a microscaler process with frozen replicas: the next one adopts them frozen, not lost, not duplicated', async (t) => {
  const { dir, out, pids } = await workDir(t);
  const run = counter(out);
  const fixture = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, dir, 'freeze', '1', '3', JSON.stringify(run.command)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    if (fixture.exitCode === null && fixture.signalCode === null) fixture.kill('SIGKILL');
  });
  const [line] = (await once(fixture.stdout, 'data')) as [Buffer];
  const started = JSON.parse(line.toString()) as number[];
  for (const pid of started) pids.add(pid);
  assert.equal(started.length, 4);
  const frozenBefore = started.filter((pid) => frozenInProc(pid));
  assert.equal(frozenBefore.length, 3, `states: ${started.map((pid) => procState(pid)).join(' ')}`);
  fixture.kill('SIGKILL');
  await once(fixture, 'exit');
  // Orphaning must not continue them (the kernel's SIGHUP+SIGCONT to orphaned stopped groups).
  await sleep(100);
  for (const pid of frozenBefore) assert.ok(frozenInProc(pid), `replica ${pid} was thawed by the crash`);

  const s = await ProcessScheduler.create({ stateDir: dir }, context({ web: run }));
  assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 0, frozen: 3 });
  assert.deepEqual(
    pidsBy(s, 'frozen'),
    [...frozenBefore].sort((a, b) => a - b),
  );
  await s.scaleWithPool('web', { replicas: 1, frozen: 3 }, 'same');
  assert.equal(s.list().length, 4, 'no duplicates');
  for (const pid of frozenBefore) assert.ok(frozenInProc(pid));

  // Their work resumes where it stopped once thawed by the new instance.
  const ids = new Map(s.list().map((r) => [r.pid, r.id]));
  const counts = frozenBefore.map((pid) => readCounter(join(out, `${ids.get(pid)}.count`)));
  await s.scaleWithPool('web', { replicas: 4, frozen: 0 }, 'capacity back');
  for (const [i, pid] of frozenBefore.entries()) {
    const file = join(out, `${ids.get(pid)}.count`);
    const from = counts[i] ?? 0;
    await waitFor(`replica ${pid} to count on`, () => {
      const n = readCounter(file, from);
      assert.ok(n >= from, `counter restarted: ${n} after ${from}`);
      return n > from + 2;
    });
  }
  await stopAllAndCheck(s, dir, pids);
});
