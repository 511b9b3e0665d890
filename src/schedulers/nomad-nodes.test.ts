// Nomad's capacity: which nodes count (ready, eligible, not draining, in the pool, with the meta), and what
// each offers (its resources less Nomad's reservation); pure cases, then the back-end against the fake agent.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FakeNomad } from '../../test/fakes/nomad-api.js';
import { systemClock } from '../infra/system-clock.js';
import { NomadScheduler } from './nomad.js';
import { countNomadNodes, metaWanted, type NomadNodeStub } from './nomad-nodes.js';

const GiB = 2 ** 30;
const node = (name: string, extra: Partial<NomadNodeStub> = {}): NomadNodeStub => ({
  ID: `id-${name}`,
  Name: name,
  Datacenter: 'dc1',
  NodeClass: '',
  NodePool: 'default',
  Status: 'ready',
  SchedulingEligibility: 'eligible',
  Drain: false,
  NodeResources: { Cpu: { CpuShares: 10_000, TotalCpuCores: 4 }, Memory: { MemoryMB: 8192 } },
  ReservedResources: { Cpu: { CpuShares: 0 }, Memory: { MemoryMB: 0 } },
  ...extra,
});

test('metaWanted: node.* keys are fields, meta.KEY and KEY are Meta', () => {
  assert.deepEqual(metaWanted({ 'node.pool': 'web', 'meta.rack': 'r1', zone: 'a' }), {
    rack: 'r1',
    zone: 'a',
  });
});

describe('countNomadNodes', () => {
  const cases: {
    what: string;
    nodes: NomadNodeStub[];
    wanted?: Record<string, string>;
    meta?: Record<string, Record<string, string>>;
    want: { cpu: number; memory: number; nodes: number; notes: string[] };
  }[] = [
    {
      what: 'ready, eligible nodes sum',
      nodes: [node('a'), node('b')],
      want: { cpu: 8, memory: 16 * GiB, nodes: 2, notes: [] },
    },
    {
      what: 'down, draining and ineligible nodes are named, not counted',
      nodes: [
        node('a'),
        node('b', { Status: 'down' }),
        node('c', { Drain: true, SchedulingEligibility: 'ineligible' }),
        node('d', { SchedulingEligibility: 'ineligible' }),
        node('e', { Status: 'initializing' }),
      ],
      want: {
        cpu: 4,
        memory: 8 * GiB,
        nodes: 1,
        notes: [
          'node b not ready (down)',
          'node c draining',
          'node d not eligible for scheduling',
          'node e not ready (initializing)',
        ],
      },
    },
    {
      what: "Nomad's reservation is taken off (cpu as the same fraction of the cores)",
      nodes: [node('a', { ReservedResources: { Cpu: { CpuShares: 2500 }, Memory: { MemoryMB: 1024 } } })],
      want: { cpu: 3, memory: 7 * GiB, nodes: 1, notes: [] },
    },
    {
      what: 'node pool, class and datacenter',
      nodes: [node('a', { NodePool: 'web' }), node('b'), node('c', { NodePool: 'web', Datacenter: 'dc2' })],
      wanted: { 'node.pool': 'web', 'node.datacenter': 'dc1' },
      want: {
        cpu: 4,
        memory: 8 * GiB,
        nodes: 1,
        notes: ['node b not in node.pool web', 'node c not in node.datacenter dc1'],
      },
    },
    {
      what: 'meta, as read per node',
      nodes: [node('a'), node('b'), node('c')],
      wanted: { 'meta.rack': 'r1', zone: 'z' },
      meta: { 'id-a': { rack: 'r1', zone: 'z' }, 'id-b': { rack: 'r2', zone: 'z' } },
      want: {
        cpu: 4,
        memory: 8 * GiB,
        nodes: 1,
        notes: ['node b without meta rack=r1', 'node c without meta rack=r1'],
      },
    },
    {
      what: 'a node without cores reported is named',
      nodes: [node('a', { NodeResources: { Cpu: { CpuShares: 10_000 }, Memory: { MemoryMB: 1024 } } })],
      want: { cpu: 0, memory: 0, nodes: 0, notes: ['node a reports no cpu cores (Nomad 1.1 or later does)'] },
    },
    { what: 'no nodes', nodes: [], want: { cpu: 0, memory: 0, nodes: 0, notes: [] } },
  ];
  for (const c of cases) {
    test(c.what, () => {
      assert.deepEqual(
        countNomadNodes(c.nodes, c.wanted ?? {}, (id) => c.meta?.[id]),
        c.want,
      );
    });
  }
});

describe('NomadScheduler.resources (fake Nomad agent)', () => {
  const fakes: FakeNomad[] = [];
  after(() => Promise.all(fakes.map((f) => f.close())));
  async function start(token?: string) {
    const nomad = new FakeNomad();
    fakes.push(nomad);
    nomad.addJob('shop', { web: { meta: { 'microscaler.instance': 'shop', 'microscaler.service': 'web' } } });
    nomad.addNode('n1', { pool: 'apps', meta: { rack: 'r1' } });
    nomad.addNode('n2', { pool: 'apps', meta: { rack: 'r2' }, reservedMemoryMB: 1024 });
    nomad.addNode('n3', { pool: 'batch' });
    if (token) nomad.token = token;
    const address = await nomad.start();
    const scheduler = await NomadScheduler.create(
      { address, ...(token ? { token } : {}) },
      {
        clock: systemClock,
        logger: { log() {} },
        instance: 'shop',
        services: [{ name: 'web', run: { workload: 'shop/web' } }],
      },
      { env: {} },
    );
    return { nomad, scheduler };
  }
  const signal = () => AbortSignal.timeout(10_000);

  test('the pool, a drained node leaving and coming back, meta read once per node change', async () => {
    const { nomad, scheduler } = await start('t0ken');
    assert.deepEqual(await scheduler.resources(signal(), { 'node.pool': 'apps' }), {
      cpu: 8,
      memory: 15 * GiB,
      nodes: 2,
      notes: ['node n3 not in node.pool apps'],
    });
    assert.equal(nomad.nodeReads.length, 0, 'no Meta asked for, none read');
    nomad.updateNode('n2', { drain: true });
    const drained = await scheduler.resources(signal(), { 'node.pool': 'apps' });
    assert.deepEqual(
      [drained.nodes, drained.notes],
      [1, ['node n2 draining', 'node n3 not in node.pool apps']],
    );
    nomad.updateNode('n2', { drain: false, eligibility: 'eligible' });
    assert.equal((await scheduler.resources(signal(), { 'node.pool': 'apps' })).nodes, 2);

    const rack = { rack: 'r1' };
    assert.equal((await scheduler.resources(signal(), rack)).nodes, 1);
    assert.equal((await scheduler.resources(signal(), rack)).nodes, 1);
    assert.equal(nomad.nodeReads.length, 3, 'each ready node read once');
    nomad.updateNode('n2', { meta: { rack: 'r1' } });
    assert.equal((await scheduler.resources(signal(), rack)).nodes, 2);
    assert.equal(nomad.nodeReads.length, 4, 'only the node that changed read again');
    await scheduler.close();
  });

  test('a token without node:read: an error that says so, never a capacity of 0', async () => {
    const { nomad, scheduler } = await start('t0ken');
    nomad.token = 'another';
    await assert.rejects(scheduler.resources(signal()), /node:read/);
    await scheduler.close();
  });
});
