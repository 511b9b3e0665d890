// `kill -9` of a running microscaler and a restart: the containers keep running and are adopted, with no
// duplicate started and none orphaned; then --stop-on-exit removes them all. Through the CLI, as a user runs it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  skipUnless,
  TEST_IMAGE,
  uniqueName,
  waitFor,
} from '../fixtures/docker/engine.js';
import { ContainerMonitor } from '../fixtures/docker/monitor.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const engine = await findEngine();
const work = mkdtempSync(join(tmpdir(), 'microscaler-docker-restart-'));
const name = uniqueName('e2e-restart');
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  if (!engine.api) return;
  await removeContainers(engine.api, name);
  engine.api.close();
});

interface Cli {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The API's address, once it listens. */
  url: Promise<string>;
}

function runCli(config: string, extra: string[] = []): Cli {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'run', '-c', config, '--listen', '127.0.0.1:0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  const url = new Promise<string>((resolve) => {
    child.stdout?.on('data', (d) => {
      stdout += d;
      const m = /api listening on (\S+)/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    });
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (code) process.stderr.write(stderr);
      resolve(code);
    }),
  );
  return { child, exited, url };
}

describe('kill -9 and restart on docker', skipUnless(engine), () => {
  test('adopts the running containers: no duplicates, none orphaned', async () => {
    const api = needApi(engine);
    const config = join(work, 'microscaler.yaml');
    const run = `{ image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }`;
    writeFileSync(
      config,
      `
name: ${name}
capacity: { replicas: 5 }
interval: 100ms
scheduler: { type: docker, network: none }
services:
  web:
    priority: 1
    run: ${run}
    demand: { source: { type: static, value: 30 }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    run: ${run}
    demand: { rule: { type: remainder } }
`,
    );
    const monitor = new ContainerMonitor(api, name);
    await monitor.start();
    try {
      const first = runCli(config);
      await monitor.until(
        'web 3, batch 2',
        () => monitor.running.get('web') === 3 && monitor.running.get('batch') === 2,
        60_000,
      );
      const before = (await containersOf(api, name)).map((c) => c.Id).sort();
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();

      const second = runCli(config, ['--stop-on-exit']);
      const url = await second.url;
      await waitFor('the new instance to see web 3 and batch 2 running', async () => {
        const state = (await (await fetch(`${url}/api/state`)).json()) as {
          services: { name: string; running: number; desired: number }[];
        };
        const by = new Map(state.services.map((s) => [s.name, s]));
        return by.get('web')?.running === 3 && by.get('batch')?.running === 2 && by.get('web')?.desired === 3;
      });
      // A few more ticks: had it not adopted them, it would have started or stopped something by now.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(monitor.count('create', 'web', killedAt) + monitor.count('create', 'batch', killedAt), 0);
      assert.equal(
        monitor.count('destroy', 'web', killedAt) + monitor.count('destroy', 'batch', killedAt),
        0,
      );
      assert.deepEqual((await containersOf(api, name)).map((c) => c.Id).sort(), before);

      second.child.kill('SIGTERM'); // with --stop-on-exit: every container is stopped and removed
      assert.equal(await second.exited, 0);
      await waitFor(
        'every container removed',
        async () => (await containersOf(api, name)).length === 0,
        15_000,
      );
    } finally {
      monitor.stop();
    }
  });
});
