// Freezing in the process back-end (issue 9): warm replicas (SIGSTOP), thaw (SIGCONT), refill, removal of
// frozen replicas without a thaw, freeze-based preemption that keeps the work, and adoption of frozen
// replicas after microscaler dies. Real processes; facts are read from /proc, not from the scheduler.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BUSY,
  context,
  counter,
  cpuTicks,
  frozenInProc,
  pidsBy,
  procState,
  readCounter,
  recordCount,
  recordOf,
  SLEEP,
  stopAllAndCheck,
  tattler,
  waitFor,
  workDir,
} from '../../../test/fixtures/process/freeze-kit.js';
import { canFreeze } from '../../core/ports.js';
import { ProcessScheduler } from './index.js';

test('warm pool: filled with stopped replicas, thawed on scale-up (same pids), refilled later, frozen ones left alone without a frozen target', async (t) => {
  const { dir, pids } = await workDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context({ web: SLEEP }));
  assert.equal(canFreeze(s), true);

  await s.scaleWithPool('web', { replicas: 0, frozen: 3 }, 'warm pool');
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0, frozen: 3 });
  const warm = pidsBy(s, 'frozen', pids);
  assert.equal(warm.length, 3);
  for (const pid of warm) {
    assert.ok(frozenInProc(pid), `warm replica ${pid} is stopped`);
    assert.equal(recordOf(dir, pid)?.frozen, true, 'its record says frozen');
  }

  await s.scaleWithPool('web', { replicas: 2, frozen: 1 }, 'scale-up');
  assert.deepEqual((await s.observe()).get('web'), { running: 2, starting: 0, stopping: 0, frozen: 1 });
  const running = pidsBy(s, 'running', pids);
  assert.equal(running.length, 2);
  assert.ok(
    running.every((pid) => warm.includes(pid)),
    'the scale-up thawed warm replicas, started none',
  );
  for (const pid of running) assert.match(procState(pid) ?? '', /^[RS]$/, `thawed replica ${pid} runs`);
  assert.deepEqual(
    pidsBy(s, 'frozen'),
    warm.filter((pid) => !running.includes(pid)),
  );
  await waitFor('thawed records', () => running.every((pid) => recordOf(dir, pid)?.frozen === undefined));

  // Refill, later, as the planner asks: two new replicas, started then frozen.
  await s.scaleWithPool('web', { replicas: 2, frozen: 3 }, 'refill');
  assert.deepEqual((await s.observe()).get('web'), { running: 2, starting: 0, stopping: 0, frozen: 3 });
  const refilled = pidsBy(s, 'frozen', pids);
  assert.equal(refilled.filter((pid) => !warm.includes(pid)).length, 2, 'two new warm replicas');
  for (const pid of refilled) assert.ok(frozenInProc(pid));

  // Without a frozen target, behaviour is as before issue 9: frozen replicas stay as they are.
  await s.scale('web', 3, 'cold, no frozen target');
  pidsBy(s, 'running', pids);
  assert.deepEqual((await s.observe()).get('web'), { running: 3, starting: 0, stopping: 0, frozen: 3 });
  assert.deepEqual(pidsBy(s, 'frozen'), refilled, 'no thaw without a frozen target');
  await s.scale('web', 2, 'down, no frozen target');
  const o = (await s.observe()).get('web');
  assert.equal(o?.frozen, 3);
  assert.equal(o?.running, 2);
  assert.ok((o?.stopping ?? 0) <= 1, 'the surplus is stopped, not frozen');
  pidsBy(s, 'running', pids);

  // A scale-down with room in the pool freezes surplus replicas instead of stopping them.
  await waitFor('the stop to finish', () => s.list().every((r) => r.state !== 'stopping'));
  await s.scaleWithPool('web', { replicas: 0, frozen: 5 }, 'preempted');
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0, frozen: 5 });
  assert.ok(
    running.every((pid) => frozenInProc(pid)),
    'the same processes, frozen',
  );

  await stopAllAndCheck(s, dir, pids);
});

test('removing frozen replicas kills them without a thaw or a grace period; they count as frozen until gone', async (t) => {
  const { dir, out, pids } = await workDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context({ web: tattler(out) }));
  await s.scaleWithPool('web', { replicas: 0, frozen: 4 }, 'warm pool');
  const frozen = pidsBy(s, 'frozen', pids);
  assert.equal(frozen.length, 4);
  const ids = s.list().map((r) => r.id);

  const started = Date.now();
  await s.scaleWithPool('web', { replicas: 0, frozen: 1 }, 'shrink the pool');
  const took = Date.now() - started;
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0, frozen: 1 });
  const left = pidsBy(s, 'frozen');
  assert.equal(left.length, 1);
  for (const pid of frozen.filter((p) => !left.includes(p))) {
    assert.equal(procState(pid), undefined, `removed replica ${pid} is gone when scale resolves`);
  }
  assert.ok(took < 2000, `removal took ${took} ms, less than the 2 s grace period`);
  assert.ok(frozenInProc(left[0] ?? 0), 'the one kept is still frozen');
  await sleep(200); // a SIGCONT or SIGTERM trap would have written its file by now
  for (const id of ids) {
    assert.equal(existsSync(join(out, `${id}.cont`)), false, `replica ${id} was thawed`);
    assert.equal(existsSync(join(out, `${id}.term`)), false, `replica ${id} got SIGTERM`);
  }
  t.diagnostic(`removing 3 frozen replicas took ${took} ms`);

  // stopAll removes a frozen replica the same way.
  await stopAllAndCheck(s, dir, pids);
  for (const id of ids) assert.equal(existsSync(join(out, `${id}.term`)), false);
});

test('a frozen replica gets no CPU, and a frozen counter resumes where it stopped after the thaw', async (t) => {
  const { dir, out, pids } = await workDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context({ busy: BUSY, batch: counter(out) }));
  await Promise.all([s.scale('busy', 1, 'test'), s.scale('batch', 1, 'test')]);
  const [busy] = pidsBy(s, 'running', pids, 'busy');
  const [batch] = pidsBy(s, 'running', pids, 'batch');
  assert.ok(busy && batch);
  const id = s.list().find((r) => r.pid === batch)?.id;
  const file = join(out, `${id}.count`);
  const ticks0 = cpuTicks(busy);
  await waitFor('the busy loop to use CPU', () => cpuTicks(busy) > ticks0);
  await waitFor('the counter to count', () => readCounter(file) >= 5);

  // Freeze both (freeze-based preemption: active 0, frozen 1).
  await Promise.all([
    s.scaleWithPool('busy', { replicas: 0, frozen: 1 }, 'preempted'),
    s.scaleWithPool('batch', { replicas: 0, frozen: 1 }, 'preempted'),
  ]);
  assert.deepEqual((await s.observe()).get('busy'), { running: 0, starting: 0, stopping: 0, frozen: 1 });
  assert.ok(frozenInProc(busy));
  assert.ok(frozenInProc(batch));
  const frozenTicks = cpuTicks(busy);
  const frozenCount = readCounter(file);
  await sleep(500);
  assert.equal(cpuTicks(busy), frozenTicks, 'a frozen busy loop used CPU');
  assert.equal(readCounter(file), frozenCount, 'a frozen counter went on counting');

  // Thaw: the same processes run again, from where they were.
  await Promise.all([
    s.scaleWithPool('busy', { replicas: 1, frozen: 0 }, 'capacity back'),
    s.scaleWithPool('batch', { replicas: 1, frozen: 0 }, 'capacity back'),
  ]);
  assert.deepEqual(pidsBy(s, 'running', undefined, 'busy'), [busy]);
  assert.deepEqual(pidsBy(s, 'running', undefined, 'batch'), [batch]);
  await waitFor('the busy loop to use CPU again', () => cpuTicks(busy) > frozenTicks);
  let last = frozenCount;
  await waitFor('the counter to go on', () => {
    const n = readCounter(file, last);
    assert.ok(n >= frozenCount, `the counter restarted: ${n} after ${frozenCount}`);
    last = n;
    return n >= frozenCount + 5;
  });
  t.diagnostic(`counter frozen at ${frozenCount}, went on to ${last} after the thaw`);

  await stopAllAndCheck(s, dir, pids);
});

test('time to thaw 10 frozen replicas vs cold-starting 10 (best of 3)', async (t) => {
  const { dir, pids } = await workDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context({ web: SLEEP }));
  const colds: number[] = [];
  const thaws: number[] = [];
  const freezes: number[] = [];
  const removals: number[] = [];
  for (let round = 0; round < 3; round++) {
    let at = performance.now();
    await s.scaleWithPool('web', { replicas: 10, frozen: 0 }, 'cold');
    colds.push(performance.now() - at);
    pidsBy(s, 'running', pids);
    at = performance.now();
    await s.scaleWithPool('web', { replicas: 0, frozen: 10 }, 'freeze');
    freezes.push(performance.now() - at);
    const frozen = pidsBy(s, 'frozen');
    assert.equal(frozen.length, 10);
    at = performance.now();
    await s.scaleWithPool('web', { replicas: 10, frozen: 0 }, 'thaw');
    thaws.push(performance.now() - at);
    assert.deepEqual(pidsBy(s, 'running'), frozen, 'the same processes');
    await s.scaleWithPool('web', { replicas: 0, frozen: 10 }, 'freeze again');
    at = performance.now();
    await s.scaleWithPool('web', { replicas: 0, frozen: 0 }, 'remove');
    removals.push(performance.now() - at);
    assert.ok(frozen.every((pid) => procState(pid) === undefined));
    await waitFor('records to go', () => recordCount(dir) === 0);
  }
  const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  t.diagnostic(`cold start of 10: ${ms(colds)} ms`);
  t.diagnostic(`thaw of 10:       ${ms(thaws)} ms`);
  t.diagnostic(`freeze of 10:     ${ms(freezes)} ms`);
  t.diagnostic(`remove 10 frozen: ${ms(removals)} ms`);
  assert.ok(Math.min(...thaws) < Math.min(...colds), 'a thaw is faster than a cold start');
  await stopAllAndCheck(s, dir, pids);
});
