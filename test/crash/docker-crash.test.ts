// Crash safety of the docker back-end, through the CLI, on the real engine: kill -9 at seeded random
// moments of a scale-up, a preemption and a scale-down, then a restart. The engine is sampled through its
// API (the labelled containers, any state, as `docker ps -a --filter label=...`) every ~20 ms, and its
// event stream counts every container that exists, so capacity is checked at every moment, crash windows
// included. MICROSCALER_CRASH_SEED replays a run.
//
// Convergence, as measured here: from the restarted instance being up ("api listening": after it listed
// and adopted the labelled containers) until its state shows, per service, desired = the expected plan and
// running + starting = desired, with nothing stopping. That is the back-end having accepted every change
// (a container counts as starting from its create request on); the bound is the promise, 1 s. Containers
// actually running take longer on docker (a create and start is ~0.1-0.5 s each, in parallel): that is
// checked separately, within 20 s, as exactly the plan (no duplicate, no orphan) by the engine's own list.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { mulberry32 } from '../../src/core/random.js';
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
import { type Cli, DemandServer, killAllClis, readState, runCli } from '../fixtures/process/cli.js';

const CAPACITY = 6;
const CONVERGE_MS = 1000;
const engine = await findEngine();
const work = mkdtempSync(join(tmpdir(), 'microscaler-docker-crash-'));
const name = uniqueName('crash');
const demand = new DemandServer();
const seed = Number(process.env.MICROSCALER_CRASH_SEED ?? Date.now() % 1_000_000);

after(async () => {
  killAllClis();
  await demand.close();
  rmSync(work, { recursive: true, force: true });
  if (!engine.api) return;
  await removeContainers(engine.api, name);
  engine.api.close();
});

function expected(value: number): Map<string, number> {
  const web = Math.min(CAPACITY, Math.max(1, Math.ceil(value / 10)));
  return new Map([
    ['web', web],
    ['batch', CAPACITY - web],
  ]);
}

async function accepted(cli: Cli, want: Map<string, number>): Promise<number> {
  const { url, at } = await cli.up;
  await waitFor(
    'the plan accepted by the back-end',
    async () => {
      const state = await readState(url);
      return [...want].every(([service, n]) => {
        const s = state.services.find((x) => x.name === service);
        return s?.desired === n && s.running + s.starting === n && s.stopping === 0;
      });
    },
    10_000,
  );
  return Date.now() - at;
}

describe('kill -9 on docker', skipUnless(engine), () => {
  test('during scale-up, preemption and scale-down: no duplicates, no orphans, capacity kept, plan accepted within 1 s of restart', async () => {
    console.log(`docker crash test: seed ${seed} (MICROSCALER_CRASH_SEED=${seed} replays it)`);
    const random = mulberry32(seed);
    const api = needApi(engine);
    await demand.start();
    const config = join(work, 'microscaler.yaml');
    const run = `{ image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }`;
    writeFileSync(
      config,
      `
name: ${name}
capacity: { replicas: ${CAPACITY} }
interval: 50ms
scheduler: { type: docker, network: none }
services:
  web:
    priority: 1
    min: 1
    scaleDownWindow: 0s
    run: ${run}
    demand:
      source: { type: http, url: "${demand.url('web')}", path: value }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    scaleDownWindow: 0s
    run: ${run}
    demand: { rule: { type: remainder } }
`,
    );
    const monitor = new ContainerMonitor(api, name);
    await monitor.start();
    let peak = 0;
    const over: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const n = (await containersOf(api, name).catch(() => [])).length;
        peak = Math.max(peak, n);
        if (n > CAPACITY) over.push(`${new Date().toISOString()}: ${n} containers`);
        await delay(20);
      }
    })();
    const steps = [
      { phase: 'first scale-up from nothing', value: 20, window: 600 },
      { phase: 'preemption (web 2 → 5)', value: 50, window: 400 },
      { phase: 'scale-down (web 5 → 1)', value: 5, window: 400 },
    ];
    const times: string[] = [];
    try {
      let cli: Cli | undefined;
      for (const step of steps) {
        const at = Math.floor(random() * step.window);
        demand.set('web', step.value);
        if (cli === undefined) {
          cli = runCli(config);
          await cli.up;
        }
        await delay(at);
        cli.child.kill('SIGKILL');
        await cli.exited;
        const restarted = runCli(config);
        const took = await accepted(restarted, expected(step.value));
        times.push(`${step.phase}: killed ${at} ms in, plan accepted ${took} ms after restart`);
        assert.ok(
          took <= CONVERGE_MS,
          `${step.phase}: plan accepted ${took} ms after restart (bound ${CONVERGE_MS})`,
        );
        // The engine's own list: exactly the plan, all running (no duplicate, no orphan, nothing half-made).
        await waitFor(
          `${step.phase}: exactly the plan running`,
          async () => {
            const rows = await containersOf(api, name);
            return [...expected(step.value)].every(
              ([service, n]) =>
                rows.filter((r) => r.Labels['microscaler.service'] === service && r.State === 'running')
                  .length === n &&
                rows.filter((r) => r.Labels['microscaler.service'] === service).length === n,
            );
          },
          20_000,
        );
        cli = restarted;
      }
      cli?.child.kill('SIGKILL');
      await cli?.exited;
      const last = runCli(config, ['--stop-on-exit']);
      await accepted(last, expected(5));
      last.child.kill('SIGTERM');
      assert.equal(await last.exited, 0, last.stderr());
      await waitFor(
        'every container removed',
        async () => (await containersOf(api, name)).length === 0,
        20_000,
      );
    } finally {
      sampling = false;
      await sampler;
      monitor.stop();
      console.log(times.join('\n'));
    }
    assert.deepEqual(over, [], `capacity exceeded (sampled peak ${peak})`);
    assert.ok(
      monitor.peakExisting <= CAPACITY,
      `capacity exceeded: ${monitor.peakExisting} containers existed at once`,
    );
  });
});
