// The node readers on the real engine and the real one-node swarm (.ci/setup-docker.sh), and this machine.
import assert from 'node:assert/strict';
import { availableParallelism, totalmem } from 'node:os';
import { after, describe, test } from 'node:test';
import { findEngine, needApi, uniqueName } from '../../test/fixtures/docker/engine.js';
import type { DockerApi } from '../infra/docker-api.js';
import { engineResources, labelsMiss, machineResources, swarmResources } from './node-resources.js';

const engine = await findEngine();
after(() => engine.api?.close());
const skip = engine.missing !== undefined && process.env.CI !== 'true' ? engine.missing : false;

test('labelsMiss: every wanted label, with its value', () => {
  assert.equal(labelsMiss({ a: '1', b: '2' }, { a: '1' }), undefined);
  assert.equal(labelsMiss({ a: '1' }, {}), undefined);
  assert.equal(labelsMiss(undefined, {}), undefined);
  assert.equal(labelsMiss({ a: '2' }, { a: '1' }), 'not labelled a=1');
  assert.equal(labelsMiss(undefined, { a: '1' }), 'not labelled a=1');
});

test('this machine: its cores and memory', () => {
  assert.deepEqual(machineResources(), {
    cpu: availableParallelism(),
    memory: totalmem(),
    nodes: 1,
    notes: [],
  });
});

describe('docker engine and swarm nodes', { skip }, () => {
  test("the engine's NCPU and MemTotal", async () => {
    const api = needApi(engine);
    const { body } = await api.request<{ NCPU: number; MemTotal: number }>('GET', '/info');
    assert.deepEqual(await engineResources(api), {
      cpu: body.NCPU,
      memory: body.MemTotal,
      nodes: 1,
      notes: [],
    });
  });

  interface Node {
    ID: string;
    Version: { Index: number };
    Spec: { Labels?: Record<string, string>; Availability: string; Role: string };
    Description: { Hostname: string; Resources: { NanoCPUs: number; MemoryBytes: number } };
  }
  async function self(api: DockerApi): Promise<Node> {
    const { body } = await api.request<{ Swarm: { NodeID: string } }>('GET', '/info');
    return (await api.request<Node>('GET', `/nodes/${body.Swarm.NodeID}`)).body;
  }
  async function update(api: DockerApi, change: (spec: Node['Spec']) => Node['Spec']): Promise<void> {
    const n = await self(api);
    await api.request('POST', `/nodes/${n.ID}/update`, {
      query: { version: n.Version.Index },
      body: change(n.Spec),
    });
  }

  test('swarm: ready, active nodes with the wanted labels count; the others are named with why', async () => {
    const api = needApi(engine);
    const n = await self(api);
    const label = uniqueName('ms-capacity');
    const whole = {
      cpu: n.Description.Resources.NanoCPUs / 1e9,
      memory: n.Description.Resources.MemoryBytes,
    };
    assert.deepEqual(await swarmResources(api), { ...whole, nodes: 1, notes: [] });
    const wanted = { [label]: 'yes' };
    assert.deepEqual(await swarmResources(api, wanted), {
      cpu: 0,
      memory: 0,
      nodes: 0,
      notes: [`node ${n.Description.Hostname} not labelled ${label}=yes`],
    });
    try {
      await update(api, (spec) => ({ ...spec, Labels: { ...spec.Labels, [label]: 'yes' } }));
      assert.deepEqual(await swarmResources(api, wanted), { ...whole, nodes: 1, notes: [] });
      // Paused (not drained: that would stop other tests' tasks): no new task may be placed, so it is left out.
      await update(api, (spec) => ({ ...spec, Availability: 'pause' }));
      assert.deepEqual((await swarmResources(api, wanted)).notes, [`node ${n.Description.Hostname} paused`]);
    } finally {
      await update(api, (spec) => {
        const { [label]: _, ...labels } = spec.Labels ?? {};
        return { ...spec, Labels: labels, Availability: n.Spec.Availability };
      });
    }
    assert.deepEqual(await swarmResources(api), { ...whole, nodes: 1, notes: [] });
  });
});
