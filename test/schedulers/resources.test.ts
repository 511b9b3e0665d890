// resources() of the one-machine and swarm back-ends, as `capacity: { from: scheduler }` reads them: this
// machine (process), the real engine's NCPU and MemTotal (docker), the real one-node swarm's nodes (swarm).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { systemClock } from '../../src/infra/system-clock.js';
import { DockerScheduler, dockerSettingsSchema } from '../../src/schedulers/docker/scheduler.js';
import { ProcessScheduler } from '../../src/schedulers/process/index.js';
import { SwarmScheduler, swarmSettingsSchema } from '../../src/schedulers/swarm.js';
import {
  findEngine,
  needApi,
  schedulerContext,
  skipUnless,
  TEST_IMAGE,
  uniqueName,
} from '../fixtures/docker/engine.js';

const engine = await findEngine();
after(() => engine.api?.close());
const signal = () => AbortSignal.timeout(10_000);

test('process: this machine’s cores and memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'microscaler-resources-'));
  const scheduler = await ProcessScheduler.create(
    { stateDir: dir },
    {
      clock: systemClock,
      logger: { log() {} },
      instance: 'resources',
      services: [{ name: 'web', run: { command: ['sleep', '60'] } }],
    },
  );
  try {
    assert.deepEqual(await scheduler.resources(), {
      cpu: availableParallelism(),
      memory: totalmem(),
      nodes: 1,
      notes: [],
    });
  } finally {
    await scheduler.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('docker and swarm (real engine)', skipUnless(engine), () => {
  test("docker: the engine's NCPU and MemTotal", async () => {
    const api = needApi(engine);
    const { body } = await api.request<{ NCPU: number; MemTotal: number }>('GET', '/info');
    const ctx = schedulerContext(uniqueName('resources'), { web: { image: TEST_IMAGE } });
    const scheduler = await DockerScheduler.create(dockerSettingsSchema.parse({ network: 'none' }), ctx);
    try {
      assert.deepEqual(await scheduler.resources(signal()), {
        cpu: body.NCPU,
        memory: body.MemTotal,
        nodes: 1,
        notes: [],
      });
    } finally {
      await scheduler.close();
    }
  });

  test('swarm: ready, active nodes with the wanted labels', async (t) => {
    const api = needApi(engine);
    const { body } = await api.request<{ Swarm?: { LocalNodeState?: string; NodeID?: string } }>(
      'GET',
      '/info',
    );
    if (body.Swarm?.LocalNodeState !== 'active') {
      assert.notEqual(process.env.CI, 'true', 'this engine is not in a swarm; run .ci/setup-docker.sh');
      return t.skip('this engine is not in a swarm');
    }
    const { body: self } = await api.request<{
      Description: { Hostname: string; Resources: { NanoCPUs: number; MemoryBytes: number } };
    }>('GET', `/nodes/${body.Swarm.NodeID}`);
    const ctx = schedulerContext(uniqueName('resources'), { web: { image: TEST_IMAGE } });
    const scheduler = await SwarmScheduler.create(swarmSettingsSchema.parse({}), ctx);
    try {
      assert.deepEqual(await scheduler.resources(signal()), {
        cpu: self.Description.Resources.NanoCPUs / 1e9,
        memory: self.Description.Resources.MemoryBytes,
        nodes: 1,
        notes: [],
      });
      const label = uniqueName('ms-resources');
      assert.deepEqual(await scheduler.resources(signal(), { [label]: 'yes' }), {
        cpu: 0,
        memory: 0,
        nodes: 0,
        notes: [`node ${self.Description.Hostname} not labelled ${label}=yes`],
      });
    } finally {
      // The Swarm service it created for web (with 0 replicas) goes too.
      await Promise.all(
        scheduler.list().map((x) => api.request('DELETE', `/services/${x.id}`).catch(() => {})),
      );
      await scheduler.close();
    }
  });
});
