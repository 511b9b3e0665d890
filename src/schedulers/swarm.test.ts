// The swarm back-end on a real one-node swarm (.ci/setup-docker.sh runs `docker swarm init`).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  findEngine,
  needApi,
  schedulerContext,
  swarmMissing,
  TEST_IMAGE,
  uniqueName,
  waitFor,
} from '../../test/fixtures/docker/engine.js';
import { type DockerApi, DockerApiError, filters } from '../infra/docker-api.js';
import { SwarmScheduler, swarmServiceName } from './swarm.js';

const engine = await findEngine();
const missing = await swarmMissing(engine);
const made: string[] = [];
after(async () => {
  if (!engine.api) return;
  const api = engine.api;
  await Promise.all(made.map((id) => api.request('DELETE', `/services/${id}`).catch(() => {})));
  api.close();
});

async function serviceByName(api: DockerApi, name: string) {
  const { body } = await api.request<{ ID: string; Spec: { Mode: { Replicated: { Replicas: number } } } }[]>(
    'GET',
    '/services',
    { query: { filters: filters({ name: [name] }) } },
  );
  return body.find(() => true);
}

test('swarm service names are valid: letters, digits and dashes, at most 63', () => {
  assert.equal(swarmServiceName('shop.v2_x', 'web'), 'shop-v2-x-web');
  assert.equal(swarmServiceName('a'.repeat(70), 'web').length, 63);
});

test('"update out of sequence" is met by reading the spec again', async () => {
  let updates = 0;
  let reads = 0;
  const spec = {
    Name: 'x-web',
    Labels: { 'microscaler.instance': 'x', 'microscaler.service': 'web' },
    Mode: { Replicated: { Replicas: 1 } },
  };
  const fake = {
    address: 'fake',
    close() {},
    async request(method: string, path: string, options: { query?: { version?: number } } = {}) {
      if (path === '/info')
        return { status: 200, body: { Swarm: { LocalNodeState: 'active', ControlAvailable: true } } };
      if (path === '/services' && method === 'GET')
        return { status: 200, body: [{ ID: 's1', Version: { Index: 1 }, Spec: spec }] };
      if (path === '/services/s1') {
        reads++;
        return { status: 200, body: { ID: 's1', Version: { Index: reads }, Spec: spec } };
      }
      if (path === '/services/s1/update') {
        updates++;
        // Someone else updated after our first read.
        if (options.query?.version === 1)
          throw new DockerApiError(500, method, path, 'rpc error: update out of sequence');
        return { status: 200, body: {} };
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
  } as unknown as DockerApi;
  const s = await SwarmScheduler.create({}, schedulerContext('x', { web: {} }), { api: fake });
  await s.scale('web', 3, 'test');
  assert.equal(reads, 2);
  assert.equal(updates, 2);
  assert.equal(s.list()[0]?.replicas, 3);
});

describe('swarm scheduler', { skip: missing && process.env.CI !== 'true' ? missing : false }, () => {
  test('creates its service from run, scales up and down, and is adopted by the next instance', async () => {
    needApi(engine);
    const name = uniqueName('swarm');
    const ctx = schedulerContext(name, { web: { stopGraceMs: 1000 } });
    const first = await SwarmScheduler.create({}, ctx);
    const created = first.list()[0];
    assert.ok(created?.created);
    made.push(created.id);
    try {
      await first.scale('web', 3, 'test');
      const accepted = (await first.observe()).get('web');
      assert.equal(
        (accepted?.running ?? 0) + (accepted?.starting ?? 0),
        3,
        'counted as starting once accepted',
      );
      await waitFor('3 running tasks', async () => (await first.observe()).get('web')?.running === 3, 60_000);

      await first.scale('web', 1, 'test');
      const after = (await first.observe()).get('web');
      assert.equal(after?.running, 1);
      await waitFor(
        '2 tasks stopped',
        async () => {
          const o = (await first.observe()).get('web');
          return o?.running === 1 && o.starting === 0 && o.stopping === 0;
        },
        60_000,
      );
    } finally {
      await first.close();
    }

    const second = await SwarmScheduler.create({}, ctx);
    try {
      assert.deepEqual(
        second.list().map((s) => [s.id, s.created, s.replicas]),
        [[created.id, false, 1]],
      );
      assert.deepEqual((await second.observe()).get('web'), { running: 1, starting: 0, stopping: 0 });
      await second.scale('web', 0, 'test');
      await waitFor(
        'no tasks',
        async () => {
          const o = (await second.observe()).get('web');
          return o?.running === 0 && o.stopping === 0;
        },
        60_000,
      );
    } finally {
      await second.close();
    }
  });

  test('a service with our name but without our labels is never touched', async () => {
    const api = needApi(engine);
    const name = uniqueName('swarm-foreign');
    const { body } = await api.request<{ ID: string }>('POST', '/services/create', {
      body: {
        Name: swarmServiceName(name, 'web'),
        TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Args: ['sleep', '3600'], Init: true } },
        Mode: { Replicated: { Replicas: 0 } },
      },
    });
    made.push(body.ID);
    await assert.rejects(
      SwarmScheduler.create({}, schedulerContext(name, { web: {} })),
      /exists without the labels microscaler\.instance=.* it is not ours, so it is left alone/,
    );
    const after = await serviceByName(api, swarmServiceName(name, 'web'));
    assert.equal(after?.ID, body.ID);
    assert.equal(after?.Spec.Mode.Replicated.Replicas, 0);
  });
});
