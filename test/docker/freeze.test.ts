// Freezing on a real engine (issue 9): warm pools of paused containers, thawed on scale-up and refilled;
// a frozen container gets no CPU and its work resumes where it stopped; what observe() counts at each step;
// a fresh scheduler adopts paused containers as frozen, never unpausing them; a frozen container killed from
// outside is reported gone. Driven through DockerScheduler; engine-side facts come from the engine itself
// (its event stream, inspect, stats, the container's own file system).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { canFreeze } from '../../src/core/ports.js';
import type { Observed } from '../../src/core/types.js';
import type { DockerApi } from '../../src/infra/docker-api.js';
import { DockerScheduler, dockerSettingsSchema } from '../../src/schedulers/docker/scheduler.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  schedulerContext,
  skipUnless,
  TEST_IMAGE,
  uniqueName,
  waitFor,
} from '../fixtures/docker/engine.js';
import { ContainerMonitor } from '../fixtures/docker/monitor.js';

const engine = await findEngine();
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'microscaler-freeze-'));
const children: ChildProcess[] = [];
const settings = dockerSettingsSchema.parse({ network: 'none' });
const instances: string[] = [];
const monitors: ContainerMonitor[] = [];
const schedulers: DockerScheduler[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  for (const m of monitors) m.stop();
  await Promise.all(schedulers.map((s) => s.close().catch(() => {})));
  if (!engine.api) return;
  const api = engine.api;
  await Promise.all(instances.map((i) => removeContainers(api, i)));
  api.close();
});

function instance(prefix: string): string {
  const name = uniqueName(prefix);
  instances.push(name);
  return name;
}

async function watched(api: DockerApi, name: string): Promise<ContainerMonitor> {
  const m = new ContainerMonitor(api, name);
  monitors.push(m);
  await m.start();
  return m;
}

async function scheduler(name: string, services: Parameters<typeof schedulerContext>[1]) {
  const s = await DockerScheduler.create(settings, schedulerContext(name, services));
  schedulers.push(s);
  return s;
}

const counts = (o: Observed | undefined) => ({
  running: o?.running ?? 0,
  starting: o?.starting ?? 0,
  stopping: o?.stopping ?? 0,
  frozen: o?.frozen ?? 0,
  warming: o?.warming ?? 0,
});

/** The engine's own word: "running", "paused", ... per container id. */
async function engineStates(api: DockerApi, name: string): Promise<Map<string, string>> {
  return new Map((await containersOf(api, name)).map((c) => [c.Id, c.State]));
}

const idsIn = (s: DockerScheduler, state: string) =>
  s
    .list()
    .filter((c) => c.state === state)
    .map((c) => c.id as string)
    .sort();

/** Cumulative CPU time (ns) of a container's cgroup, from the stats endpoint. */
async function cpuNs(api: DockerApi, id: string): Promise<number> {
  const { body } = await api.request<{ cpu_stats: { cpu_usage: { total_usage: number } } }>(
    'GET',
    `/containers/${id}/stats`,
    { query: { stream: false, 'one-shot': true } },
  );
  return body.cpu_stats.cpu_usage.total_usage;
}

/** The counter the busy loop writes, read from the container's file system on the host (works while paused). */
async function counter(api: DockerApi, id: string): Promise<number> {
  const { body } = await api.request<{ GraphDriver?: { Data?: { MergedDir?: string } } }>(
    'GET',
    `/containers/${id}/json`,
  );
  const dir = body.GraphDriver?.Data?.MergedDir;
  if (dir) {
    return waitFor('a counter value', () => lastValue(readFileSync(join(dir, 'tmp/count'), 'utf8')));
  }
  return waitFor('a counter value through docker exec', () =>
    lastValue(execFileSync('docker', ['exec', id, 'tail', '-n', '2', '/tmp/count'], { encoding: 'utf8' })),
  );
}

/** The loop appends a line per value (never truncates: a container frozen mid-write still has its last one). */
function lastValue(text: string): number | undefined {
  const lines = text.split('\n');
  lines.pop(); // the line being written, if any
  const n = Number.parseInt(lines.at(-1) ?? '', 10);
  return Number.isFinite(n) ? n : undefined;
}

const BUSY_COUNTER = [
  'sh',
  '-c',
  'i=0; while :; do i=$((i+1)); if [ $((i % 500)) -eq 0 ]; then echo $i >> /tmp/count; fi; done',
];

describe('freezing on docker', skipUnless(engine), () => {
  test('a warm pool is filled (warming, then frozen), thawed on scale-up (the same containers), refilled later', async () => {
    const api = needApi(engine);
    const name = instance('ms-warm');
    const monitor = await watched(api, name);
    const s = await scheduler(name, { web: {} });
    assert.equal(canFreeze(s), true);

    await s.scaleWithPool('web', { replicas: 1, frozen: 3 }, 'test');
    // Accepted at once: 1 active, 3 warming (they hold replicas and cpu, but are not active).
    assert.deepEqual(counts((await s.observe()).get('web')), {
      running: 0,
      starting: 1,
      stopping: 0,
      frozen: 0,
      warming: 3,
    });
    await waitFor('1 running, 3 frozen', async () => {
      const o = counts((await s.observe()).get('web'));
      return o.running === 1 && o.frozen === 3 && o.warming === 0 && o.starting === 0;
    });
    const frozen = idsIn(s, 'frozen');
    assert.equal(frozen.length, 3);
    let states = await engineStates(api, name);
    assert.equal(states.size, 4);
    for (const id of frozen) assert.equal(states.get(id), 'paused');
    // Idempotent: asking again changes nothing.
    const createsBefore = monitor.count('create', 'web');
    await s.scaleWithPool('web', { replicas: 1, frozen: 3 }, 'test');
    assert.equal(monitor.count('create', 'web'), createsBefore);

    // Scale-up: the frozen ones are thawed, and scale() returns once they run: nothing is created.
    const thawedAt = Date.now();
    await s.scaleWithPool('web', { replicas: 4, frozen: 0 }, 'test');
    assert.deepEqual(counts((await s.observe()).get('web')), {
      running: 4,
      starting: 0,
      stopping: 0,
      frozen: 0,
      warming: 0,
    });
    assert.deepEqual(
      idsIn(s, 'running').filter((id) => frozen.includes(id)),
      frozen,
    );
    states = await engineStates(api, name);
    for (const id of frozen) assert.equal(states.get(id), 'running', 'the same container runs again');
    assert.equal(monitor.count('create', 'web', thawedAt), 0, 'no container created for a thaw');
    assert.equal(monitor.count('unpause', 'web', thawedAt), 3);

    // Refilled later: two new containers, started and paused; the four active ones untouched.
    const refillAt = Date.now();
    await s.scaleWithPool('web', { replicas: 4, frozen: 2 }, 'test');
    await waitFor('4 running, 2 frozen', async () => {
      const o = counts((await s.observe()).get('web'));
      return o.running === 4 && o.frozen === 2 && o.warming === 0;
    });
    assert.equal(monitor.count('create', 'web', refillAt), 2);
    assert.equal(monitor.count('pause', 'web', refillAt), 2);
    assert.equal(monitor.count('die', 'web', refillAt), 0);
    const refilled = idsIn(s, 'frozen');
    states = await engineStates(api, name);
    for (const id of refilled) assert.equal(states.get(id), 'paused');

    // Scale-down with room in the pool: the surplus is frozen (not stopped), up to the target; the rest stop.
    const downAt = Date.now();
    await s.scaleWithPool('web', { replicas: 1, frozen: 4 }, 'test');
    const o = counts((await s.observe()).get('web'));
    assert.equal(o.running, 1);
    assert.equal(o.frozen, 4, 'two more frozen at once (the pause is awaited)');
    assert.equal(o.stopping, 1);
    assert.equal(monitor.count('pause', 'web', downAt), 2);
    await waitFor('the stopped one removed', async () => (await containersOf(api, name)).length === 5);

    // Fewer frozen wanted: the excess is removed as it is, never thawed; it counts as frozen (memory only)
    // until gone, and the call resolves once it is gone.
    const trimAt = Date.now();
    const trim = s.scaleWithPool('web', { replicas: 1, frozen: 1 }, 'test');
    const trimming = counts((await s.observe()).get('web'));
    assert.deepEqual(trimming, { running: 1, starting: 0, stopping: 0, frozen: 4, warming: 0 });
    await trim;
    assert.equal((await containersOf(api, name)).length, 2, 'removed when scale() resolves');
    assert.deepEqual(counts((await s.observe()).get('web')), {
      running: 1,
      starting: 0,
      stopping: 0,
      frozen: 1,
      warming: 0,
    });
    assert.equal(monitor.count('unpause', 'web', trimAt), 0, 'a frozen container is removed without a thaw');
    // The engine's event stream may lag the listing by a moment.
    await waitFor('3 destroy events', async () => monitor.count('destroy', 'web', trimAt) === 3);

    // Without the frozen argument: as before, frozen replicas are left as they are.
    await s.scale('web', 2, 'test');
    await waitFor('2 running', async () => (await s.observe()).get('web')?.running === 2);
    assert.equal((await s.observe()).get('web')?.frozen, 1);

    await s.stopAll();
    assert.equal((await containersOf(api, name)).length, 0);
  });

  test('a frozen container gets no CPU, and its work resumes where it stopped', async () => {
    const api = needApi(engine);
    const name = instance('ms-cpu');
    const monitor = await watched(api, name);
    const s = await scheduler(name, { batch: { command: BUSY_COUNTER, cpu: 0.5 } });
    await s.scaleWithPool('batch', { replicas: 1, frozen: 0 }, 'test');
    await waitFor('batch running', async () => (await s.observe()).get('batch')?.running === 1);
    const [id] = idsIn(s, 'running');
    assert.ok(id);
    const startedAt = (await api.request<{ State: { StartedAt: string } }>('GET', `/containers/${id}/json`))
      .body.State.StartedAt;
    await waitFor('the counter going', async () => (await counter(api, id)) > 0);

    // Running: it burns CPU (the loop is busy), and the counter goes up.
    const c0 = await counter(api, id);
    const u0 = await cpuNs(api, id);
    await new Promise((r) => setTimeout(r, 500));
    const u1 = await cpuNs(api, id);
    const c1 = await counter(api, id);
    assert.ok(u1 - u0 > 20e6, `a busy loop uses CPU: ${(u1 - u0) / 1e6} ms in 0.5 s`);
    assert.ok(c1 > c0, `the counter goes up while running: ${c0} → ${c1}`);

    // Preempted with freeze: paused once scale() returns; not counted as running.
    await s.scaleWithPool('batch', { replicas: 0, frozen: 1 }, 'preempted');
    assert.deepEqual(counts((await s.observe()).get('batch')), {
      running: 0,
      starting: 0,
      stopping: 0,
      frozen: 1,
      warming: 0,
    });
    const f0 = await counter(api, id);
    const p0 = await cpuNs(api, id);
    await new Promise((r) => setTimeout(r, 1000));
    const p1 = await cpuNs(api, id);
    const f1 = await counter(api, id);
    assert.ok(p1 - p0 < 2e6, `a frozen container gets no CPU: ${(p1 - p0) / 1e6} ms in 1 s`);
    assert.equal(f1, f0, 'the counter stands still while frozen');

    // Thawed: the same process goes on from where it stood (not restarted: a new one would count from 0).
    await s.scaleWithPool('batch', { replicas: 1, frozen: 0 }, 'capacity back');
    assert.equal((await s.observe()).get('batch')?.running, 1);
    const r0 = await counter(api, id);
    assert.ok(r0 >= f1, `resumes from ${f1}, not from 0 (read ${r0})`);
    await waitFor('the counter going on', async () => (await counter(api, id)) > f1);
    const after = await api.request<{ State: { StartedAt: string; Running: boolean; Paused: boolean } }>(
      'GET',
      `/containers/${id}/json`,
    );
    assert.equal(after.body.State.StartedAt, startedAt, 'the same process, never restarted');
    assert.equal(after.body.State.Paused, false);
    assert.equal(monitor.count('start', 'batch'), 1);
    await s.stopAll();
  });

  test('a fresh scheduler adopts paused containers as frozen: none lost, none duplicated, none unpaused', async () => {
    const api = needApi(engine);
    const name = instance('ms-adopt-frozen');
    const monitor = await watched(api, name);
    const first = await DockerScheduler.create(settings, schedulerContext(name, { web: {}, batch: {} }));
    await first.scaleWithPool('web', { replicas: 1, frozen: 2 }, 'test');
    await first.scaleWithPool('batch', { replicas: 2, frozen: 0 }, 'test');
    await waitFor('web 1 + 2 frozen, batch 2', async () => {
      const o = await first.observe();
      return o.get('web')?.running === 1 && o.get('web')?.frozen === 2 && o.get('batch')?.running === 2;
    });
    await first.scaleWithPool('batch', { replicas: 0, frozen: 2 }, 'preempted'); // batch frozen too
    const before = await engineStates(api, name);
    assert.equal([...before.values()].filter((st) => st === 'paused').length, 4);
    // Abandoned: no stopAll, nothing removed or unpaused (close only stops following events).
    await first.close();
    const handedOver = Date.now();

    const second = await scheduler(name, { web: {}, batch: {} });
    assert.deepEqual(counts((await second.observe()).get('web')), {
      running: 1,
      starting: 0,
      stopping: 0,
      frozen: 2,
      warming: 0,
    });
    assert.deepEqual(counts((await second.observe()).get('batch')), {
      running: 0,
      starting: 0,
      stopping: 0,
      frozen: 2,
      warming: 0,
    });
    assert.ok(second.list().every((c) => c.adopted));
    assert.deepEqual(
      second
        .list()
        .map((c) => c.id)
        .sort(),
      [...before.keys()].sort(),
    );
    // The same targets again: nothing to do.
    await second.scaleWithPool('web', { replicas: 1, frozen: 2 }, 'test');
    await second.scaleWithPool('batch', { replicas: 0, frozen: 2 }, 'test');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await engineStates(api, name), before, 'nothing unpaused, created or removed');
    for (const action of ['create', 'unpause', 'destroy'] as const) {
      assert.equal(monitor.count(action, 'web', handedOver) + monitor.count(action, 'batch', handedOver), 0);
    }

    // A frozen container killed from outside is reported gone (and removed), not thawed or kept.
    const batchFrozen = second
      .list()
      .filter((c) => c.service === 'batch')
      .map((c) => c.id as string);
    const victim = batchFrozen[0] as string;
    await api.request('POST', `/containers/${victim}/kill`);
    await waitFor('the kill noticed', async () => (await second.observe()).get('batch')?.frozen === 1, 5000);
    await waitFor('the dead one removed', async () => !(await engineStates(api, name)).has(victim));
    assert.deepEqual(counts((await second.observe()).get('batch')), {
      running: 0,
      starting: 0,
      stopping: 0,
      frozen: 1,
      warming: 0,
    });

    // Capacity back for batch: the adopted frozen one is thawed (the same container), the lost one replaced.
    await second.scaleWithPool('batch', { replicas: 2, frozen: 0 }, 'capacity back');
    await waitFor('batch 2 running', async () => (await second.observe()).get('batch')?.running === 2);
    const survivor = batchFrozen[1] as string;
    assert.equal((await engineStates(api, name)).get(survivor), 'running');
    assert.equal(monitor.count('create', 'batch', handedOver), 1);
    await second.stopAll();
    assert.equal((await containersOf(api, name)).length, 0);
  });

  test('paused or unpaused from outside: reported as the engine has it', async () => {
    const api = needApi(engine);
    const name = instance('ms-outside');
    const s = await scheduler(name, { web: {} });
    await s.scaleWithPool('web', { replicas: 2, frozen: 0 }, 'test');
    await waitFor('2 running', async () => (await s.observe()).get('web')?.running === 2);
    const [a] = idsIn(s, 'running');
    await api.request('POST', `/containers/${a}/pause`);
    await waitFor('seen as frozen', async () => {
      const o = counts((await s.observe()).get('web'));
      return o.running === 1 && o.frozen === 1;
    });
    await api.request('POST', `/containers/${a}/unpause`);
    await waitFor('seen running again', async () => {
      const o = counts((await s.observe()).get('web'));
      return o.running === 2 && o.frozen === 0;
    });
    await s.stopAll();
  });
});

// The same through the real CLI, once the config takes `warm` (until then: skipped, saying so).
const cliName = uniqueName('e2e-frozen');
const cliYaml = `
name: ${cliName}
capacity: { replicas: 5 }
interval: 100ms
scheduler: { type: docker, network: none }
services:
  web:
    priority: 1
    warm: 2
    run: { image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }
    demand: { source: { type: static, value: 10 }, rule: { type: target, perReplica: 10 } }
`;
function configSkip(): string | false {
  const engineSkip = skipUnless(engine).skip;
  if (engineSkip) return engineSkip;
  try {
    parseConfig(cliYaml, { file: 'freeze.yaml', sourceSchemas, schedulerSchemas });
    return false;
  } catch (error) {
    return `the config does not take warm yet: ${(error as Error).message}`;
  }
}

function runCli(config: string, extra: string[] = []) {
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
  child.stderr?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, url, exited };
}

describe('kill -9 of microscaler with frozen replicas (CLI)', { skip: configSkip() }, () => {
  test('the restarted instance adopts them as frozen: not lost, not duplicated, not thawed', async () => {
    const api = needApi(engine);
    instances.push(cliName);
    const config = join(work, 'microscaler.yaml');
    writeFileSync(config, cliYaml);
    const monitor = await watched(api, cliName);
    const first = runCli(config);
    await monitor.until(
      'web 1 running + 2 frozen',
      () =>
        monitor.running.get('web') === 1 && monitor.frozen.get('web') === 2 && monitor.totalExisting() === 3,
      60_000,
    );
    // The engine's own listing agrees, and stays so for half a second (nothing in between).
    const listing = async () => {
      const states = [...(await engineStates(api, cliName)).values()].sort().join();
      return states === 'paused,paused,running';
    };
    await waitFor('the listing: 1 running, 2 paused', listing);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await listing(), 'still 1 running and 2 paused');
    const before = await engineStates(api, cliName);
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();

    const second = runCli(config, ['--stop-on-exit']);
    const url = await second.url;
    await waitFor('the new instance to show web 1 running, 2 warm', async () => {
      const state = (await (await fetch(`${url}/api/state`)).json()) as {
        services: { name: string; running: number; warm?: number }[];
      };
      const web = state.services.find((x) => x.name === 'web');
      return web?.running === 1 && web.warm === 2;
    });
    await new Promise((r) => setTimeout(r, 1000)); // a few ticks: had it not adopted them, it would have acted
    for (const action of ['create', 'unpause', 'destroy'] as const) {
      assert.equal(monitor.count(action, 'web', killedAt), 0, `no ${action} after the restart`);
    }
    assert.deepEqual(await engineStates(api, cliName), before);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
    await waitFor(
      'every container removed',
      async () => (await containersOf(api, cliName)).length === 0,
      15_000,
    );
  });
});
