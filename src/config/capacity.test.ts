// capacity: its fixed form and its live forms (from: scheduler, source), what each converts to, and one
// problem line for each way one can be wrong.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { problemsOf, REMAINDER, web } from '../../test/fixtures/config/parse.js';
import type { Config } from '../core/types.js';
import { type ParseOptions, parseConfig } from './load.js';
import { configWarnings } from './warnings.js';

const options: ParseOptions = {
  sourceSchemas: {
    http: z.strictObject({ url: z.string(), path: z.string().optional() }),
    push: z.strictObject({}),
  },
  resourceSchedulers: {
    process: { nodes: false },
    docker: { nodes: false },
    swarm: { nodes: true },
    kubernetes: { nodes: true },
  },
};
const load = (capacity: string, scheduler = 'process', body = `{ ${REMAINDER} }`): Config =>
  parseConfig(web(body, `capacity: ${capacity}\nscheduler: { type: ${scheduler} }`), { env: {}, ...options });
const bad = (capacity: string, scheduler = 'process') =>
  problemsOf(web(`{ ${REMAINDER} }`, `capacity: ${capacity}\nscheduler: { type: ${scheduler} }`), options);

describe('capacity forms: what they convert to', () => {
  const Gi = 2 ** 30;
  const cases: {
    what: string;
    capacity: string;
    scheduler?: string;
    want: Pick<Config, 'capacity' | 'liveCapacity'>;
    max: number;
  }[] = [
    {
      what: 'fixed, unchanged',
      capacity: '{ replicas: 6, cpu: 2, memory: 4Gi }',
      want: { capacity: { replicas: 6, cpu: 2, memory: 4 * Gi } },
      max: 6,
    },
    {
      what: 'from scheduler, fixed replicas, defaults',
      capacity: '{ from: scheduler, replicas: 8 }',
      want: {
        capacity: { replicas: 8 },
        liveCapacity: {
          from: 'scheduler',
          replicas: { fixed: 8 },
          reserve: { cpu: 0, memory: 0 },
          confirmMs: 30_000,
          everyMs: 1000,
        },
      },
      max: 8,
    },
    {
      what: 'from scheduler, per node, reserve, labels, confirm',
      capacity:
        '{ from: scheduler, perNode: 4, reserve: { cpu: 0.5, memory: 1Gi }, nodes: { pool: web }, confirm: 1m }',
      scheduler: 'swarm',
      want: {
        capacity: { replicas: 4 },
        liveCapacity: {
          from: 'scheduler',
          replicas: { perNode: 4 },
          reserve: { cpu: 0.5, memory: Gi },
          nodes: { pool: 'web' },
          confirmMs: 60_000,
          everyMs: 1000,
        },
      },
      max: Number.POSITIVE_INFINITY,
    },
    {
      what: 'from scheduler, a zero reserve is allowed',
      capacity: '{ from: scheduler, perNode: 2, reserve: { cpu: 0, memory: 0 } }',
      want: {
        capacity: { replicas: 2 },
        liveCapacity: {
          from: 'scheduler',
          replicas: { perNode: 2 },
          reserve: { cpu: 0, memory: 0 },
          confirmMs: 30_000,
          everyMs: 1000,
        },
      },
      max: Number.POSITIVE_INFINITY,
    },
    {
      what: 'from a source, with fixed cpu and memory',
      capacity: '{ source: { type: http, url: "http://x/cap" }, confirm: 5s, cpu: 16, memory: 32Gi }',
      want: {
        capacity: { replicas: 1, cpu: 16, memory: 32 * Gi },
        liveCapacity: {
          from: 'source',
          source: { type: 'http', url: 'http://x/cap' },
          cpu: 16,
          memory: 32 * Gi,
          confirmMs: 5000,
          everyMs: 1000,
        },
      },
      max: Number.POSITIVE_INFINITY,
    },
  ];
  for (const c of cases) {
    test(c.what, () => {
      const config = load(c.capacity, c.scheduler);
      assert.deepStrictEqual(
        { capacity: config.capacity, liveCapacity: config.liveCapacity },
        { liveCapacity: undefined, ...c.want },
      );
      assert.equal(config.services[0]?.max, c.max);
      if (!c.want.liveCapacity) assert.equal(Object.hasOwn(config, 'liveCapacity'), false);
    });
  }

  test('a max given still holds with live capacity', () => {
    assert.equal(
      load('{ from: scheduler, perNode: 2 }', 'process', `{ max: 7, ${REMAINDER} }`).services[0]?.max,
      7,
    );
  });

  test('with an unbounded max, a min or a fixed rule is never over it', () => {
    const config = load(
      '{ from: scheduler, perNode: 2 }',
      'process',
      '{ min: 50, demand: { rule: { type: fixed, replicas: 60 } } }',
    );
    assert.equal(config.services[0]?.min, 50);
  });

  test('warnings: mins are not measured against a replica count not yet read', () => {
    const body = `{ min: 3, max: 5, ${REMAINDER} }`;
    assert.deepEqual(
      configWarnings(load('{ source: { type: http, url: "http://x" } }', 'process', body)),
      [],
    );
    assert.deepEqual(configWarnings(load('{ from: scheduler, perNode: 1 }', 'process', body)), []);
    assert.equal(configWarnings(load('{ from: scheduler, replicas: 2 }', 'process', body)).length, 1);
  });
});

describe('capacity forms: one problem each', () => {
  const cases: [string, string, string, string[]][] = [
    // [what, capacity, scheduler, problems]
    [
      'neither replicas nor perNode',
      '{ from: scheduler }',
      'process',
      ['capacity: needs replicas (a count) or perNode (replicas = perNode × the nodes counted)'],
    ],
    [
      'both replicas and perNode',
      '{ from: scheduler, replicas: 2, perNode: 2 }',
      'process',
      ['capacity: give replicas or perNode, not both'],
    ],
    [
      'from something else',
      '{ from: nodes, replicas: 2 }',
      'process',
      ['capacity.from: must be one of scheduler'],
    ],
    [
      'perNode 0',
      '{ from: scheduler, perNode: 0 }',
      'process',
      ['capacity.perNode: must be an integer ≥ 1, got 0'],
    ],
    [
      'negative reserve',
      '{ from: scheduler, perNode: 1, reserve: { cpu: -1 } }',
      'process',
      ['capacity.reserve.cpu: must be a number ≥ 0, got -1'],
    ],
    [
      'reserve unknown key',
      '{ from: scheduler, perNode: 1, reserve: { gpu: 1 } }',
      'process',
      ['capacity.reserve.gpu: unknown key'],
    ],
    [
      'cpu with from: scheduler',
      '{ from: scheduler, perNode: 1, cpu: 4 }',
      'process',
      ['capacity.cpu: comes from the machines with from: scheduler (keep some back with reserve.cpu)'],
    ],
    [
      'bad confirm',
      '{ from: scheduler, perNode: 1, confirm: 30 }',
      'process',
      ['capacity.confirm: needs a unit, like 100ms or 2s, got 30'],
    ],
    [
      'label value not a string',
      '{ from: scheduler, perNode: 1, nodes: { zone: 1 } }',
      'swarm',
      ['capacity.nodes.zone: must be a string, got 1 (quote it)'],
    ],
    [
      'nodes on docker',
      '{ from: scheduler, perNode: 1, nodes: { zone: a } }',
      'docker',
      [
        'capacity.nodes: the docker back-end runs on one machine, so there are no nodes to pick (nodes picks them on kubernetes, swarm)',
      ],
    ],
    [
      'nodes on process',
      '{ from: scheduler, replicas: 3, nodes: { zone: a } }',
      'process',
      [
        'capacity.nodes: the process back-end runs on one machine, so there are no nodes to pick (nodes picks them on kubernetes, swarm)',
      ],
    ],
    [
      'from scheduler on a back-end without resources',
      '{ from: scheduler, perNode: 1 }',
      'marathon',
      [
        'capacity.from: the marathon back-end cannot report what its machines offer (only docker, kubernetes, process, swarm can); give capacity as replicas, or from a source',
      ],
    ],
    [
      'both forms',
      '{ from: scheduler, perNode: 1, source: { type: http, url: "http://x" } }',
      'process',
      ['capacity: give from: scheduler or source, not both'],
    ],
    [
      'source unknown type',
      '{ source: { type: kafka } }',
      'process',
      ['capacity.source.type: must be one of http, push'],
    ],
    ['source missing setting', '{ source: { type: http } }', 'process', ['capacity.source.url: required']],
    ['source not a map', '{ source: 5 }', 'process', ['capacity.source: must be a map, got 5']],
    [
      'push source',
      '{ source: { type: push } }',
      'process',
      [
        'capacity.source.type: push cannot give capacity (values are pushed to a service); use a source microscaler reads, such as http, redis-list or prometheus',
      ],
    ],
    [
      'replicas with a source',
      '{ source: { type: http, url: "http://x" }, replicas: 3 }',
      'process',
      ["capacity.replicas: is the source's value with source: (remove it)"],
    ],
    [
      'perNode with a source',
      '{ source: { type: http, url: "http://x" }, perNode: 3 }',
      'process',
      ['capacity.perNode: needs from: scheduler (a source gives the replica count itself)'],
    ],
    [
      'fixed form unchanged',
      '{ replicas: 0 }',
      'process',
      ['capacity.replicas: must be an integer ≥ 1, got 0'],
    ],
  ];
  for (const [what, capacity, scheduler, problems] of cases) {
    test(what, () => assert.deepStrictEqual(bad(capacity, scheduler), problems));
  }
});

test('capacity.every: how often a live capacity is read (1 s by default)', () => {
  assert.equal(load('{ from: scheduler, replicas: 8, every: 5s }').liveCapacity?.everyMs, 5000);
  assert.equal(load('{ from: scheduler, replicas: 8 }').liveCapacity?.everyMs, 1000);
  assert.match(bad('{ from: scheduler, replicas: 8, every: soon }').join('\n'), /^capacity\.every: /);
  assert.match(bad('{ replicas: 8, every: 5s }').join('\n'), /^capacity\.every: /);
});
