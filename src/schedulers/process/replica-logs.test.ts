// Issue 13, item 6: replica logs are capped and rotated per replica, stopped replicas' logs go after their
// retention (and beyond a count per service), and adopted replicas' logs are capped by the next microscaler.
// Real chatty processes write to real files through the process back-end.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SchedulerContext } from '../../core/registry.js';
import type { RunSpec } from '../../core/types.js';
import { systemClock } from '../../infra/system-clock.js';
import { ProcessScheduler, readProcStat } from './index.js';

const KI = 1024;
/**
 * Lines of 1,000 bytes (`<8-digit sequence> 000...`), 20 per burst with a pause between bursts: chatty
 * enough to pass any small cap many times, slow enough (at most about 1 MB/s) that the overshoot between
 * two checks stays far below what an uncapped file reaches.
 */
const CHATTY = [
  'sh',
  '-c',
  'i=0; while :; do j=0; while [ $j -lt 20 ]; do i=$((i+1)); j=$((j+1)); printf "%08d %0990d\\n" $i 0; done; sleep 0.02; done',
];
const LINE = 1000;

function context(services: Record<string, RunSpec>, instance: string): SchedulerContext {
  return {
    clock: systemClock,
    logger: { log: () => {} },
    instance,
    services: Object.entries(services).map(([name, run]) => ({ name, run })),
  };
}

/** A fresh state folder, removed after the test with every replica group the test registered. */
async function stateDir(t: TestContext): Promise<{ dir: string; groups: Set<number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-logs-'));
  const groups = new Set<number>();
  t.after(async () => {
    for (const pid of groups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, groups };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The log files in the state folder, by name, with their sizes. */
function logFiles(dir: string): Map<string, number> {
  const logs = join(dir, 'logs');
  let names: string[] = [];
  try {
    names = readdirSync(logs);
  } catch {
    return new Map();
  }
  const out = new Map<string, number>();
  for (const name of names) {
    try {
      out.set(name, statSync(join(logs, name)).size);
    } catch {
      // rotated away between the readdir and the stat
    }
  }
  return out;
}

/** The sequence numbers of the whole lines in a file (a copied tail may start mid-line). */
function sequences(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return [];
  }
  return [...text.matchAll(/^(\d{8}) 0{990}$/gm)].map((m) => Number(m[1]));
}

function pidsOf(s: ProcessScheduler): number[] {
  return s.list().flatMap((r) => (r.pid === undefined ? [] : [r.pid]));
}

test('a chatty replica: its log stays under maxSize, rotated into `keep` files, while it writes 20 times that', async (t) => {
  const { dir, groups } = await stateDir(t);
  const maxSize = 128 * KI;
  const logs = { maxSize, keep: 2, retentionMs: 600_000, keepStopped: 10 };
  const s = await ProcessScheduler.create(
    { stateDir: dir },
    context({ web: { command: CHATTY, stopGraceMs: 200, logs } }, `logs-cap-${process.pid}`),
  );
  let closed = false;
  try {
    await s.scale('web', 1, 'test');
    for (const pid of pidsOf(s)) groups.add(pid);
    const [id] = s.list().map((r) => r.id);
    const live = join(dir, 'logs', `web-${id}.log`);
    let largest = 0;
    let lastLine = 0;
    // Until the replica has written 20 caps' worth (its sequence numbers say how much).
    await waitFor('the replica to write 20 × maxSize', () => {
      for (const [name, size] of logFiles(dir)) {
        if (name.endsWith('.log')) largest = Math.max(largest, size);
      }
      lastLine = Math.max(lastLine, ...sequences(live).slice(-1));
      return lastLine * LINE >= 20 * maxSize;
    });
    // Overshoot between checks (every 250 ms) at at most ~1 MB/s: far less than 1 MiB, far less than written.
    assert.ok(largest <= maxSize + 1024 * KI, `the live log reached ${largest} bytes (cap ${maxSize})`);
    // Stopped and closed: no rotation under way, the files hold still for a look.
    await s.stopAll();
    await s.close();
    closed = true;
    const files = logFiles(dir);
    assert.deepEqual(
      [...files.keys()].sort(),
      [`web-${id}.log`, `web-${id}.log.1`, `web-${id}.log.2`],
      'the live log and exactly `keep` rotated files',
    );
    for (const n of [1, 2]) {
      const size = files.get(`web-${id}.log.${n}`) ?? 0;
      assert.ok(size > 0 && size <= maxSize, `.${n} holds ${size} bytes (cap ${maxSize})`);
    }
    // Rotated files hold older lines than the live one, `.2` older than `.1`.
    const [two, one] = [sequences(`${live}.2`), sequences(`${live}.1`)];
    assert.ok(two.length > 0 && one.length > 0);
    assert.ok((two.at(-1) as number) < (one[0] as number), '.2 is older than .1');
    const now = sequences(live);
    if (now.length > 0) assert.ok((one.at(-1) as number) < (now[0] as number), '.1 is older than the log');
  } finally {
    if (!closed) {
      await s.stopAll();
      await s.close();
    }
  }
});

test("stopped replicas' logs: at most keepStopped per service, gone after the retention; live logs stay", async (t) => {
  const { dir, groups } = await stateDir(t);
  const logs = { maxSize: 1024 * KI, keep: 1, retentionMs: 1500, keepStopped: 2 };
  const hello: RunSpec = { command: ['sh', '-c', 'echo hello; exec sleep 60'], stopGraceMs: 200, logs };
  const keepLogs = { ...logs, retentionMs: 600_000 };
  const s = await ProcessScheduler.create(
    { stateDir: dir },
    context({ web: hello, api: { ...hello, logs: keepLogs } }, `logs-retention-${process.pid}`),
  );
  try {
    await s.scale('api', 1, 'test'); // runs throughout: its log must stay
    const api = s.list()[0]?.id as string;
    const stopped: string[] = [];
    for (let n = 0; n < 4; n++) {
      await s.scale('web', 1, 'test');
      const r = s.list().find((x) => x.service === 'web');
      assert.ok(r?.pid);
      groups.add(r.pid);
      const log = join(dir, 'logs', `web-${r.id}.log`);
      await waitFor('the replica to write', () => sequencesOrText(log).includes('hello'));
      await s.scale('web', 0, 'test');
      await waitFor('the replica to stop', () => !s.list().some((x) => x.service === 'web'));
      stopped.push(r.id);
    }
    const webLogs = () => [...logFiles(dir).keys()].filter((n) => n.startsWith('web-')).sort();
    // The two newest stopped replicas keep their logs, for post-mortems; the two older ones are gone.
    await waitFor('two stopped logs left', () => webLogs().length === 2, 20_000);
    assert.deepEqual(
      webLogs(),
      stopped.slice(2).map((id) => `web-${id}.log`),
    );
    // ...and after the retention (1.5 s) those go too; the live replica's log stays.
    await waitFor('no stopped logs left', () => webLogs().length === 0, 30_000);
    assert.ok(logFiles(dir).has(`api-${api}.log`), 'the live replica lost its log');
  } finally {
    for (const pid of pidsOf(s)) groups.add(pid);
    await s.stopAll();
    await s.close();
  }
});

test('a restart: the next microscaler caps the logs of the replicas it adopts, and sweeps the dead ones', async (t) => {
  const { dir, groups } = await stateDir(t);
  const maxSize = 64 * KI;
  const logs = { maxSize, keep: 1, retentionMs: 1000, keepStopped: 10 };
  const services = {
    web: { command: CHATTY, stopGraceMs: 200, logs },
    once: { command: ['sh', '-c', 'echo bye; exec sleep 60'], stopGraceMs: 200, logs },
  };
  const instance = `logs-restart-${process.pid}`;
  const first = await ProcessScheduler.create({ stateDir: dir }, context(services, instance));
  await first.scale('web', 1, 'test');
  await first.scale('once', 1, 'test');
  for (const pid of pidsOf(first)) groups.add(pid);
  const web = first.list().find((r) => r.service === 'web');
  const once = first.list().find((r) => r.service === 'once');
  assert.ok(web?.pid && once?.pid);
  await first.close(); // replicas keep running, for the next one to adopt
  const live = join(dir, 'logs', `web-${web.id}.log`);
  // Nothing caps while no microscaler runs (documented); the replica that outlives it dies meanwhile.
  await waitFor('the log to pass its cap', () => (logFiles(dir).get(`web-${web.id}.log`) ?? 0) > 4 * maxSize);
  process.kill(-once.pid, 'SIGKILL');
  await waitFor('the other replica to die', () => readProcStat(once.pid as number) === undefined);

  const second = await ProcessScheduler.create({ stateDir: dir }, context(services, instance));
  try {
    assert.deepEqual(
      second.list().map((r) => r.id),
      [web.id],
    );
    await waitFor(
      'the adopted log capped',
      () => (logFiles(dir).get(`web-${web.id}.log`) ?? 0) <= maxSize * 4,
    );
    const rotated = logFiles(dir).get(`web-${web.id}.log.1`);
    assert.ok(rotated !== undefined && rotated <= maxSize, `.1 holds ${rotated} bytes (cap ${maxSize})`);
    await waitFor('the dead replica’s log swept', () => !logFiles(dir).has(`once-${once.id}.log`), 30_000);
    assert.ok(
      sequences(live).length > 0 || sequences(`${live}.1`).length > 0,
      'the adopted replica still logs',
    );
  } finally {
    await second.stopAll();
    await second.close();
  }
});

function sequencesOrText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
