// The live capacity built from a config: the pure conversions (machines less reserve, perNode × nodes, what
// changed among the nodes, a source's value floored), the two CapacitySources, and the composition root
// wiring one into a running instance (the process back-end: this machine).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { Scheduler } from '../core/ports.js';
import type { ClusterResources, SchedulerCapacity, SourceCapacity } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { systemClock } from '../infra/system-clock.js';
import { resourceSchedulers, schedulerSchemas } from '../schedulers/registry.js';
import { sourceSchemas } from '../sources/registry.js';
import {
  buildCapacitySource,
  capacityFromResources,
  capacityFromResult,
  notesChange,
  SchedulerCapacitySource,
} from './capacity-source.js';
import { startInstance } from './compose.js';

const GiB = 2 ** 30;
const live = (extra: Partial<SchedulerCapacity> = {}): SchedulerCapacity => ({
  from: 'scheduler',
  replicas: { perNode: 4 },
  reserve: { cpu: 0, memory: 0 },
  confirmMs: 30_000,
  everyMs: 0,
  ...extra,
});
const machines = (
  nodes: number,
  notes: string[] = [],
  each = { cpu: 2, memory: 4 * GiB },
): ClusterResources => ({
  cpu: each.cpu * nodes,
  memory: each.memory * nodes,
  nodes,
  notes,
});

describe('capacityFromResources', () => {
  const cases: [
    string,
    SchedulerCapacity,
    ClusterResources,
    { replicas: number; cpu: number; memory: number },
  ][] = [
    ['perNode × nodes, the whole machines', live(), machines(3), { replicas: 12, cpu: 6, memory: 12 * GiB }],
    [
      'fixed replicas stay',
      live({ replicas: { fixed: 10 } }),
      machines(3),
      { replicas: 10, cpu: 6, memory: 12 * GiB },
    ],
    [
      'the reserve is taken off',
      live({ reserve: { cpu: 0.5, memory: GiB } }),
      machines(2),
      { replicas: 8, cpu: 3.5, memory: 7 * GiB },
    ],
    [
      'never below 0',
      live({ reserve: { cpu: 10, memory: 100 * GiB } }),
      machines(1),
      { replicas: 4, cpu: 0, memory: 0 },
    ],
    [
      'no nodes: 0 replicas (the guard never takes it)',
      live(),
      machines(0),
      { replicas: 0, cpu: 0, memory: 0 },
    ],
    [
      'float noise rounded to millicores',
      live({ reserve: { cpu: 0.1, memory: 0 } }),
      { cpu: 0.30000000000000004, memory: 1.5, nodes: 1, notes: [] },
      { replicas: 4, cpu: 0.2, memory: 1 },
    ],
  ];
  for (const [what, l, r, want] of cases) {
    test(what, () => assert.deepEqual(capacityFromResources(l, r), { capacity: want, nodes: r.nodes }));
  }
});

describe('notesChange', () => {
  const at = (notes: string[], nodes = 3) => ({ notes, nodes });
  const cases: [string, ReturnType<typeof at> | undefined, ReturnType<typeof at>, string | undefined][] = [
    ['first reading with nothing left out', undefined, at([]), undefined],
    ['first reading names what is left out', undefined, at(['node n3 not ready']), 'node n3 not ready'],
    ['a node goes', at([]), at(['node n3 not ready (down)'], 2), 'node n3 not ready (down)'],
    ['it comes back', at(['node n3 not ready (down)'], 2), at([]), 'node n3 ready again'],
    ['a drained node is active again', at(['node n3 drained']), at([]), 'node n3 no longer drained'],
    ['a label comes', at(['node n3 not labelled pool=web']), at([]), 'node n3 labelled pool=web again'],
    [
      'both at once',
      at(['node n1 cordoned']),
      at(['node n2 not ready']),
      'node n2 not ready, node n1 no longer cordoned',
    ],
    ['a new node joins unnamed', at([], 3), at([], 4), '3 → 4 nodes'],
    ['nothing changed', at(['node n3 cordoned']), at(['node n3 cordoned']), undefined],
    [
      'many: three shown',
      at([]),
      at([
        'node a not ready',
        'node b not ready',
        'node c not ready',
        'node d not ready',
        'node e not ready',
      ]),
      'node a not ready, node b not ready, node c not ready and 2 more',
    ],
  ];
  for (const [what, before, now, want] of cases)
    test(what, () => assert.equal(notesChange(before, now), want));
});

describe('capacityFromResult', () => {
  const source: SourceCapacity = {
    from: 'source',
    source: { type: 'http' },
    cpu: 8,
    confirmMs: 1000,
    everyMs: 0,
  };
  const ok = (value: number) => ({ ok: true as const, reading: { value, at: 0 } });
  const cases: [string, number, number][] = [
    ['a whole value', 14, 14],
    ['floored', 14.9, 14],
    ['below 1 floors to 0 (the guard never takes it)', 0.5, 0],
  ];
  for (const [what, value, replicas] of cases) {
    test(what, () => assert.deepEqual(capacityFromResult(source, ok(value)), { replicas, cpu: 8 }));
  }
  test('a failed read throws its error', () => {
    assert.throws(
      () => capacityFromResult(source, { ok: false, error: 'ECONNREFUSED' }),
      /http.*ECONNREFUSED/,
    );
  });
});

test('SchedulerCapacitySource: why names the nodes as long as the capacity it explains lasts', async () => {
  const readings = [
    machines(3),
    machines(2, ['node n3 not ready']),
    machines(2, ['node n3 not ready']), // the same drop again: still explained
    machines(3),
  ];
  const asked: (Readonly<Record<string, string>> | undefined)[] = [];
  const source = new SchedulerCapacitySource(live({ nodes: { pool: 'web' } }), async (_signal, nodes) => {
    asked.push(nodes);
    return readings.shift() as ClusterResources;
  });
  const signal = AbortSignal.timeout(1000);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await source.read(signal));
  assert.deepEqual(
    got.map((r) => [r.capacity.replicas, r.nodes, r.why]),
    [
      [12, 3, undefined],
      [8, 2, 'node n3 not ready'],
      [8, 2, 'node n3 not ready'],
      [12, 3, 'node n3 ready again'],
    ],
  );
  assert.deepEqual(asked[0], { pool: 'web' });
});

describe('buildCapacitySource', () => {
  const ctx = { clock: systemClock, logger: silentLogger, baseDir: '.' };
  const parse = (capacity: string, scheduler = 'process') =>
    parseConfig(
      `capacity: ${capacity}\nscheduler: { type: ${scheduler} }\nservices: { web: { demand: { rule: { type: remainder } } } }`,
      { env: {} },
    );
  const bare: Scheduler = { observe: async () => new Map(), scale: async () => {}, close: async () => {} };

  test('a fixed capacity has none', async () => {
    assert.equal(await buildCapacitySource(parse('{ replicas: 3 }'), bare, ctx), undefined);
  });
  test('from: scheduler on a back-end without resources() is a config problem', async () => {
    await assert.rejects(
      buildCapacitySource(parse('{ from: scheduler, perNode: 2 }', 'marathon'), bare, ctx),
      (e: unknown) =>
        e instanceof ConfigError && /^capacity\.from: the marathon back-end/.test(e.problems[0] ?? ''),
    );
  });
  test('a source: its value floored, with the fixed budgets', async () => {
    const source = await buildCapacitySource(
      parse('{ source: { type: static, value: 6.7 }, memory: 1Gi }'),
      bare,
      ctx,
    );
    assert.deepEqual(await source?.read(AbortSignal.timeout(1000)), {
      capacity: { replicas: 6, memory: GiB },
      why: 'the static source says 6',
    });
    await source?.close();
  });
  test('a source that cannot be built: its problems as capacity paths', async () => {
    await assert.rejects(
      buildCapacitySource(parse('{ source: { type: static } }'), bare, ctx),
      (e: unknown) => e instanceof ConfigError && e.problems.every((p) => p.startsWith('capacity.source.')),
    );
  });
});

test('run: capacity from the process back-end is this machine, in force after the first reading', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-capacity-'));
  const config = parseConfig(
    `
name: capacity-test
capacity: { from: scheduler, perNode: 3, reserve: { cpu: 0.5 } }
scheduler: { type: process, stateDir: ${JSON.stringify(stateDir)} }
services:
  web: { run: { command: [sleep, "3600"] }, demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 1 } } }
`,
    { file: 'capacity-test.yaml', sourceSchemas, schedulerSchemas, resourceSchedulers, env: {} },
  );
  assert.equal(config.services[0]?.max, Number.POSITIVE_INFINITY);
  const instance = await startInstance({
    config,
    clock: systemClock,
    logger: silentLogger,
    baseDir: stateDir,
  });
  t.after(async () => {
    await instance.close({ drain: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  const want = { replicas: 3, cpu: availableParallelism() - 0.5, memory: totalmem() };
  const end = Date.now() + 5000;
  let seen = instance.controller.snapshot().capacity;
  while (seen.cpu !== want.cpu && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    seen = instance.controller.snapshot().capacity;
  }
  assert.deepEqual({ replicas: seen.replicas, cpu: seen.cpu, memory: seen.memory }, want);
});
