// Closing the terminal (SIGHUP) or pressing Ctrl-C twice stops `run --stop-on-exit` and `demo` in order:
// no replica survives (frozen ones included) and the demo's temporary folder is removed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { alive, type Cli, childrenWith, killAll, type Proc, cli as spawnCli, waitFor } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'microscaler-cli-signals-'));
const seen = new Map<string, Proc>();
const started: Cli[] = [];
const cli: typeof spawnCli = (...args) => {
  const c = spawnCli(...args);
  started.push(c);
  return c;
};
after(() => {
  // After a failure: nothing of this file may outlive it.
  for (const c of started) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  killAll(seen.values());
  rmSync(work, { recursive: true, force: true });
});

/** Waits until `cli` has at least `count` replicas (children with the instance's mark) and `frozen` stopped. */
async function replicas(c: Cli, instance: string, count: number, frozen = 0): Promise<Proc[]> {
  const pid = c.child.pid as number;
  const found = await waitFor(
    `${count} replicas (${frozen} frozen)`,
    () => {
      const now = childrenWith(pid, `MICROSCALER_INSTANCE=${instance}`);
      for (const p of now) seen.set(`${p.pid}/${p.start}`, p);
      const stopped = now.filter((p) => p.state === 'T').length;
      return now.length >= count && stopped >= frozen ? now : undefined;
    },
    60_000,
  );
  return found;
}

/** The demo's temporary folders in `tmp` (tsx keeps its cache there too). */
const demoDirs = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('microscaler-demo-'));

/** What a closed terminal does: its pipes are gone, then SIGHUP to the job's process group. */
function closeTerminal(c: Cli): void {
  c.child.stdout?.destroy();
  c.child.stderr?.destroy();
  process.kill(-(c.child.pid as number), 'SIGHUP');
}

async function exited(c: Cli): Promise<number | null> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('the CLI did not exit within 90 s')), 90_000).unref(),
  );
  const r = await Promise.race([c.done, timeout]);
  return r.code;
}

function assertAllGone(procs: Proc[]): Promise<true> {
  // SIGKILLed replicas are reaped by the CLI before it exits; allow a moment for a reparented one.
  return waitFor(
    `every replica gone (left: ${procs.filter(alive).map((p) => p.pid)})`,
    () => (procs.some(alive) ? undefined : true),
    10_000,
  );
}

function demo(tmp: string): Cli {
  mkdirSync(tmp, { recursive: true });
  return cli(['demo', '--listen', '127.0.0.1:0', '--seed', '7'], {
    env: { TMPDIR: tmp },
    spawn: { detached: true },
  });
}

describe('demo', () => {
  test('closing the terminal (SIGHUP): every replica stops, frozen ones too, and the temporary folder goes', async () => {
    const tmp = join(work, 'tmp-hup');
    const c = demo(tmp);
    await waitFor('the api', () => (c.out().includes('api listening') ? true : undefined), 60_000);
    assert.equal(demoDirs(tmp).length, 1, 'the demo made its temporary folder');
    // the demo fills its 20 replicas and keeps web's warm pool frozen
    const procs = await replicas(c, 'demo', 20, 1);
    closeTerminal(c);
    assert.equal(await exited(c), 0);
    await assertAllGone(procs);
    assert.deepEqual(demoDirs(tmp), [], 'the temporary folder was left behind');
  });

  test('a second Ctrl-C hurries the stop and still removes the temporary folder', async () => {
    const tmp = join(work, 'tmp-int');
    const c = demo(tmp);
    const procs = await replicas(c, 'demo', 20, 1);
    c.child.kill('SIGINT');
    await waitFor('the drain', () => (c.out().includes('stopping every replica') ? true : undefined), 60_000);
    c.child.kill('SIGINT');
    assert.equal(await exited(c), 0, c.out());
    await assertAllGone(procs);
    assert.deepEqual(demoDirs(tmp), [], 'the temporary folder was left behind');
  });
});

/** Replicas of `script` (a shell command) with that grace, filling a capacity of 4. */
function config(name: string, script: string, grace: string): string {
  const path = join(work, `${name}.yaml`);
  const run = `{ command: [sh, -c, ${JSON.stringify(script)}], stopGrace: ${grace} }`;
  writeFileSync(
    path,
    `
name: ${name}
capacity: { replicas: 4 }
interval: 50ms
scheduler: { type: process, stateDir: ${JSON.stringify(join(work, `state-${name}`))} }
services:
  web:
    priority: 1
    min: 2
    max: 4
    run: ${run}
    demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    run: ${run}
    demand: { rule: { type: remainder } }
`,
  );
  return path;
}

/** Replicas that ignore SIGTERM: only a SIGKILL (after a minute's grace) ends them. */
const STUBBORN = 'trap "" TERM; exec sleep 300';

describe('run --stop-on-exit', () => {
  test('closing the terminal (SIGHUP) stops every replica', async () => {
    const name = `hup-${process.pid}`;
    const c = cli(
      ['run', '-c', config(name, 'sleep 300', '2s'), '--listen', '127.0.0.1:0', '--stop-on-exit'],
      {
        spawn: { detached: true },
      },
    );
    const procs = await replicas(c, name, 4);
    closeTerminal(c);
    assert.equal(await exited(c), 0);
    await assertAllGone(procs);
  });

  test('a second Ctrl-C stops replicas that ignore SIGTERM at once instead of waiting their grace', async () => {
    const name = `int-${process.pid}`;
    const c = cli(['run', '-c', config(name, STUBBORN, '60s'), '--listen', '127.0.0.1:0', '--stop-on-exit']);
    const procs = await replicas(c, name, 4);
    c.child.kill('SIGINT');
    await waitFor('the drain', () => (c.out().includes('stopping every replica') ? true : undefined), 60_000);
    c.child.kill('SIGINT');
    // Without the hurry the drain would give up after 30 s, before the 60 s grace ends: replicas left behind.
    assert.equal(await exited(c), 0);
    await assertAllGone(procs);
  });
});
