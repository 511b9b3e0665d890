// Freezing in the process back-end (issue 9): warm replicas (SIGSTOP), thaw (SIGCONT), refill, removal of
// frozen replicas without a thaw, freeze-based preemption that keeps the work, and adoption of frozen
// replicas after microscaler dies. Real processes; facts are read from /proc, not from the scheduler.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { canFreeze, type LogLevel } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { RunSpec } from '../../core/types.js';
import { systemClock } from '../../infra/system-clock.js';
import { ProcessScheduler, readProcStat } from './index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/process/run-scheduler.ts');
const SLEEP: RunSpec = { command: ['sleep', '30'], stopGraceMs: 200 };
const BUSY: RunSpec = { command: ['sh', '-c', 'while :; do :; done'], stopGraceMs: 200 };

/** A replica that writes an increasing number to <dir>/<replica id>.count, about every 10 ms. */
function counter(dir: string): RunSpec {
  return {
    command: [
      'sh',
      '-c',
      `i=0; while :; do i=$((i+1)); echo $i > "${dir}/$MICROSCALER_REPLICA.count"; sleep 0.01; done`,
    ],
    stopGraceMs: 200,
  };
}

/**
 * A replica that leaves a trace of the signals it handles: <dir>/<replica id>.cont on SIGCONT, .term on
 * SIGTERM. A frozen replica that is removed must leave neither (SIGKILL, no thaw, no grace).
 */
function tattler(dir: string): RunSpec {
  const f = `${dir}/$MICROSCALER_REPLICA`;
  return {
    command: [
      'sh',
      '-c',
      `trap 'echo > "${f}.cont"' CONT; trap 'echo > "${f}.term"; exit 0' TERM; while :; do sleep 0.02; done`,
    ],
    stopGraceMs: 2000,
  };
}

interface Entry {
  level: LogLevel;
  message: string;
}

function context(
  services: Record<string, RunSpec>,
  instance = 'freeze',
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

/** State letter from /proc/<pid>/stat ('T' = stopped), undefined when gone; a zombie counts as gone. */
function procState(pid: number): string | undefined {
  const state = readProcStat(pid)?.state;
  return state === 'Z' ? undefined : state;
}

/**
 * The replica's process group is stopped, as /proc tells independently of microscaler: every live member
 * is 'T', or 'D' (a shell that vforked waits uninterruptibly for its stopped child), and one at least 'T'.
 */
function frozenInProc(pid: number): boolean {
  const states: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat?.pgrp === pid && stat.state !== 'Z') states.push(stat.state);
  }
  return states.includes('T') && states.every((s) => s === 'T' || s === 'D');
}

/** utime + stime of one process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The counter a replica wrote last (a read may catch the file half-written: then the one before). */
function readCounter(path: string, last = 0): number {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(n) ? n : last;
  } catch {
    return last;
  }
}

/**
 * A fresh folder (state + replica output), removed after the test, and a safety net that kills the
 * process group of every pid the test registered, frozen or not, if an assertion failed before stopAll.
 */
async function workDir(t: TestContext): Promise<{ dir: string; out: string; pids: Set<number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-freeze-'));
  const pids = new Set<number>();
  t.after(async () => {
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });
  return { dir: join(dir, 'state'), out: dir, pids };
}

function pidsBy(s: ProcessScheduler, state: string, track?: Set<number>, service?: string): number[] {
  const pids = s
    .list()
    .filter((r) => r.state === state && (service === undefined || r.service === service))
    .flatMap((r) => (r.pid === undefined ? [] : [r.pid]))
    .sort((a, b) => a - b);
  for (const pid of pids) track?.add(pid);
  return pids;
}

function recordOf(dir: string, pid: number): { frozen?: boolean } | undefined {
  for (const name of readdirSync(join(dir, 'replicas')).filter((n) => n.endsWith('.json'))) {
    const record = JSON.parse(readFileSync(join(dir, 'replicas', name), 'utf8')) as {
      pid?: number;
      frozen?: boolean;
    };
    if (record.pid === pid) return record;
  }
  return undefined;
}

function recordCount(dir: string): number {
  try {
    return readdirSync(join(dir, 'replicas')).filter((n) => n.endsWith('.json')).length;
  } catch {
    return 0;
  }
}

async function stopAllAndCheck(s: ProcessScheduler, dir: string, pids: Iterable<number>): Promise<void> {
  await s.stopAll();
  await s.close();
  for (const pid of pids) assert.equal(procState(pid), undefined, `replica ${pid} is still there`);
  await waitFor('records to be removed', () => recordCount(dir) === 0);
}

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
