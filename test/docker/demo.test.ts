// `demo --scheduler docker` as a user runs it: containers of the local test image, none left afterwards;
// a missing image fails at once and says how to build it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { containersOf, findEngine, needApi, skipUnless } from '../fixtures/docker/engine.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const engine = await findEngine();

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('demo on docker', skipUnless(engine), () => {
  test('runs web and batch as containers within capacity 20, and removes them all on exit', async (t) => {
    const api = needApi(engine);
    t.after(() => api.close());
    if ((await containersOf(api, 'demo')).length > 0) {
      t.skip('another docker demo is running on this engine');
      return;
    }
    const result = await cli([
      'demo',
      '--scheduler',
      'docker',
      '--duration',
      '6s',
      '--listen',
      '127.0.0.1:0',
      '--seed',
      '7',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /containers of microscaler\/busybox:test/);
    // The walk's value at the first plan depends on how long start-up took: any scale-up of web will do.
    assert.match(result.stdout, /scale up web 0→\d+/);
    const peak = Number(/peak capacity used (\d+)\/20/.exec(result.stdout)?.[1]);
    assert.ok(peak > 0 && peak <= 20, `peak ${peak}`);
    assert.equal((await containersOf(api, 'demo')).length, 0);
  });

  test('closing the terminal (SIGHUP) removes every container, paused ones too', async (t) => {
    const api = needApi(engine);
    t.after(() => api.close());
    if ((await containersOf(api, 'demo')).length > 0) {
      t.skip('another docker demo is running on this engine');
      return;
    }
    // As a closed terminal does: the job's process group gets SIGHUP (the CLI runs in a group of its own).
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'demo', '--scheduler', 'docker', '--listen', '127.0.0.1:0', '--seed', '7'],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    // Wait for the demo's containers, a paused (warm) one among them, so the drain must handle both kinds.
    const deadline = Date.now() + 90_000;
    let rows: Awaited<ReturnType<typeof containersOf>> = [];
    while (Date.now() < deadline) {
      rows = await containersOf(api, 'demo');
      if (rows.length >= 10 && rows.some((r) => r.State === 'paused')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(
      rows.some((r) => r.State === 'paused'),
      `no paused container within 90 s:\n${output}`,
    );
    process.kill(-(child.pid as number), 'SIGHUP');
    assert.equal(await exited, 0, output);
    assert.deepEqual(
      (await containersOf(api, 'demo')).map((r) => `${r.Id.slice(0, 12)} ${r.State}`),
      [],
      'containers left behind',
    );
  });

  test('a missing image fails at once with how to get it', async () => {
    const result = await cli(['demo', '--scheduler', 'docker', '--image', 'microscaler/absent:none']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /the image microscaler\/absent:none is not on the docker engine \(the demo never pulls\)/,
    );
  });
});
