// Freeze notices on a real engine (issue 13, item 9): before a container is paused its main process gets
// the notice signal (POST /containers/{id}/kill?signal=...), then `grace`; after the unpause it gets SIGCONT
// (the cgroup freezer tells it nothing); a container a scale-up needs during its grace is never paused.
// The container writes what it hears to /tmp/notes; facts come from the engine (inspect) and that file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import type { RunSpec } from '../../src/core/types.js';
import { DockerScheduler, dockerSettingsSchema } from '../../src/schedulers/docker/scheduler.js';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  schedulerContext,
  skipUnless,
  uniqueName,
  waitFor,
} from '../fixtures/docker/engine.js';

const engine = await findEngine();
const settings = dockerSettingsSchema.parse({ network: 'none' });
const instances: string[] = [];
const schedulers: DockerScheduler[] = [];
after(async () => {
  await Promise.all(schedulers.map((s) => s.close().catch(() => {})));
  if (!engine.api) return;
  const api = engine.api;
  await Promise.all(instances.map((i) => removeContainers(api, i)));
  api.close();
});

/** PID 1 of a container ignores signals it has no handler for, so these traps are the whole story. */
const TATTLER: Partial<RunSpec> = {
  command: [
    'sh',
    '-c',
    "trap 'echo usr1 >> /tmp/notes' USR1; trap 'echo cont >> /tmp/notes' CONT; echo ready >> /tmp/notes; while :; do sleep 0.05; done",
  ],
  stopGraceMs: 500,
};

async function scheduler(graceMs: number) {
  const name = uniqueName('notice');
  instances.push(name);
  const s = await DockerScheduler.create(
    settings,
    schedulerContext(name, { worker: { ...TATTLER, freezeNotice: { notify: 'SIGUSR1', graceMs } } }),
  );
  schedulers.push(s);
  return { s, name };
}

const notes = (id: string) =>
  execFileSync('docker', ['exec', id, 'cat', '/tmp/notes'], { encoding: 'utf8' }).trim().split('\n');

async function oneRunning(s: DockerScheduler): Promise<string> {
  await s.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: start');
  return waitFor('a running container', () => {
    const c = s.list().find((r) => r.state === 'running');
    return c?.id;
  });
}

test(
  'docker freeze notice: SIGUSR1 before the pause, the grace waited, SIGCONT after the unpause',
  skipUnless(engine),
  async () => {
    const api = needApi(engine);
    const { s, name } = await scheduler(4000);
    const id = await oneRunning(s);
    await waitFor('the traps to be set', () => notes(id).includes('ready'));
    const asked = Date.now();
    await s.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted worker ×1 for web');
    // In its grace: told, still running (counted as warming), not paused yet.
    await waitFor('the notice', () => notes(id).includes('usr1'));
    assert.equal((await containersOf(api, name))[0]?.State, 'running');
    assert.equal((await s.observe(AbortSignal.timeout(5000))).get('worker')?.warming, 1);
    await waitFor('the pause', async () => (await containersOf(api, name))[0]?.State === 'paused');
    assert.ok(Date.now() - asked >= 3900, `paused after the grace (${Date.now() - asked} ms)`);
    assert.equal((await s.observe(AbortSignal.timeout(5000))).get('worker')?.frozen, 1);
    await s.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: given back');
    await waitFor('the resume', () => notes(id).includes('cont'));
    assert.deepEqual(notes(id), ['ready', 'usr1', 'cont'], 'told once of each');
    assert.equal((await containersOf(api, name))[0]?.Id, id, 'the same container');
  },
);

test(
  'docker freeze notice: a container needed again during its grace is never paused, and is told to go on',
  skipUnless(engine),
  async () => {
    const api = needApi(engine);
    const { s, name } = await scheduler(20_000);
    const id = await oneRunning(s);
    await waitFor('the traps to be set', () => notes(id).includes('ready'));
    await s.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted');
    await waitFor('the notice', () => notes(id).includes('usr1'));
    await s.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: needed again');
    await waitFor('the resume', () => notes(id).includes('cont'), 5000);
    const o = await s.observe(AbortSignal.timeout(5000));
    assert.equal(o.get('worker')?.running, 1);
    assert.equal(o.get('worker')?.warming ?? 0, 0);
    const rows = await containersOf(api, name);
    assert.deepEqual(
      rows.map((r) => [r.Id, r.State]),
      [[id, 'running']],
    );
  },
);

test(
  'docker freeze notice: microscaler closing during the grace leaves the container running, told to go on',
  skipUnless(engine),
  async () => {
    const api = needApi(engine);
    const { s, name } = await scheduler(4000);
    const id = await oneRunning(s);
    await waitFor('the traps to be set', () => notes(id).includes('ready'));
    await s.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted');
    await waitFor('the notice', () => notes(id).includes('usr1'));
    await s.close();
    await waitFor('the resume', () => notes(id).includes('cont'), 5000);
    await new Promise((resolve) => setTimeout(resolve, 4500)); // past the grace
    assert.equal((await containersOf(api, name))[0]?.State, 'running');
  },
);
