// Issue 13, item 14: a relative program (`./w.sh`, as the README has it) runs from the config's folder
// whatever folder microscaler is started from, and a missing `run.cwd` is named as such, not reported as
// `spawn sleep ENOENT`. The CLI as a user runs it, as a subprocess, with real replica processes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../src/infra/system-clock.js';
import { ProcessScheduler } from '../src/schedulers/process/index.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
/** tsx by its full path: the CLI runs in a folder where `tsx` alone does not resolve. */
const TSX = new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url).href;
const work = mkdtempSync(join(tmpdir(), 'microscaler-paths-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI started in `cwd` (never the config's folder). */
function cli(args: string[], cwd: string): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Result>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
  return { child, done };
}

async function waitFor(what: string, condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A config folder holding `config.yaml` with one service whose `run` is given, and an empty elsewhere. */
function project(name: string, run: string): { dir: string; config: string; elsewhere: string } {
  const dir = join(work, name);
  const elsewhere = join(work, `${name}-elsewhere`);
  mkdirSync(dir);
  mkdirSync(elsewhere);
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `name: paths-${name}-${process.pid}
capacity: { replicas: 2 }
interval: 50ms
scheduler: { type: process, stateDir: ${join(dir, 'state')} }
services:
  web:
    run: ${run}
    demand: { rule: { type: fixed, replicas: 1 } }
`,
  );
  return { dir, config, elsewhere };
}

test('run from another folder: a relative run.command (./w.sh) is found in the config folder', async () => {
  const { dir, config, elsewhere } = project('relative', '{ command: [./w.sh, hello], stopGrace: 1s }');
  const mark = join(dir, 'started');
  writeFileSync(join(dir, 'w.sh'), `#!/bin/sh\necho "$1 from $(pwd)" > ${mark}\nexec sleep 300\n`);
  chmodSync(join(dir, 'w.sh'), 0o755);

  const valid = await cli(['validate', '-c', config], elsewhere).done;
  assert.equal(valid.code, 0, valid.stderr);

  const running = cli(['run', '-c', config, '--listen', '127.0.0.1:0', '--stop-on-exit'], elsewhere);
  try {
    await waitFor('the replica to run w.sh', () => existsSync(mark));
    // The program comes from the config's folder; the replica still runs where microscaler was started.
    assert.equal(readFileSync(mark, 'utf8'), `hello from ${elsewhere}\n`);
  } finally {
    running.child.kill('SIGTERM');
  }
  const r = await running.done;
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /ENOENT/);
});

test('a missing run.cwd: validate and run exit 2 naming the folder, nothing started', async () => {
  const { dir, config, elsewhere } = project('nocwd', '{ command: [sleep, "300"], cwd: workers }');
  const line = `services.web.run.cwd: folder ${join(dir, 'workers')} does not exist`;

  const valid = await cli(['validate', '-c', config], elsewhere).done;
  assert.equal(valid.code, 2, valid.stdout);
  assert.equal(valid.stderr.trim(), line);

  const run = await cli(['run', '-c', config, '--listen', '127.0.0.1:0'], elsewhere).done;
  assert.equal(run.code, 2, run.stdout);
  assert.match(run.stderr, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.doesNotMatch(run.stderr, /ENOENT/);
  assert.equal(existsSync(join(dir, 'state', 'replicas')), false, 'a replica was started');
});

test('a run.cwd removed after start-up: the start error names the folder, not the program', async () => {
  const cwd = join(work, 'gone-later');
  mkdirSync(cwd);
  const scheduler = await ProcessScheduler.create(
    { stateDir: join(work, 'gone-later-state') },
    {
      clock: systemClock,
      logger: { log: () => {} },
      instance: `paths-gone-${process.pid}`,
      services: [{ name: 'web', run: { command: ['sleep', '300'], cwd, stopGraceMs: 200 } }],
    },
  );
  try {
    rmSync(cwd, { recursive: true });
    await assert.rejects(scheduler.scale('web', 1, 'test'), (error: Error) => {
      assert.match(error.message, new RegExp(`folder ${cwd} does not exist \\(run\\.cwd\\)`));
      assert.doesNotMatch(error.message, /spawn sleep ENOENT/);
      return true;
    });
    assert.deepEqual(scheduler.list(), []);
  } finally {
    await scheduler.stopAll();
    await scheduler.close();
  }
});
