// The pressure signals and the autoscale decision: named cases and properties over random ticks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type AutoscaleAsk, AutoscaleDecider, nodesFor } from './autoscale.js';
import { type Amount, NO_AMOUNT, type PressureService, pressure, Sustained } from './pressure.js';

const GiB = 2 ** 30;
const res = { cpu: 1, memory: GiB };
const svc = (s: Partial<PressureService>): PressureService => ({
  priority: 1,
  min: 0,
  max: 100,
  need: 0,
  desired: 0,
  resources: res,
  ...s,
});

describe('pressure', () => {
  test('unmet: priority 1..k need (within max) the plan could not give; lower priorities never count', () => {
    const p = pressure(
      { replicas: 10, cpu: 10, memory: 10 * GiB },
      [svc({ need: 14, desired: 8 }), svc({ priority: 2, need: 30, desired: 2 })],
      1,
    );
    assert.deepEqual(p.unmet, { replicas: 6, cpu: 6, memory: 6 * GiB });
    assert.deepEqual(p.idle, NO_AMOUNT, 'capacity is full of priority 1');
  });

  test('unmet counts need only up to max, and at least min', () => {
    const p = pressure(
      { replicas: 4 },
      [svc({ need: 50, max: 6, desired: 4 }), svc({ need: 0, min: 2, desired: 0 })],
      1,
    );
    assert.equal(p.unmet.replicas, 2 + 2);
  });

  test('idle: free, or held by lower priorities beyond their min; less warm pools memory', () => {
    const p = pressure(
      { replicas: 20, cpu: 20, memory: 20 * GiB },
      [svc({ need: 4, desired: 4, warm: 2 }), svc({ priority: 2, min: 1, need: 30, desired: 16 })],
      1,
    );
    assert.deepEqual(p.unmet, NO_AMOUNT);
    // kept: web 4, batch's min 1; warm pool 2 GiB of memory.
    assert.deepEqual(p.idle, { replicas: 15, cpu: 15, memory: 13 * GiB });
  });

  test('k = 2: priority 2 need counts as unmet, and its replicas are not idle', () => {
    const services = [svc({ need: 4, desired: 4 }), svc({ priority: 2, need: 30, desired: 16 })];
    const p = pressure({ replicas: 20 }, services, 2);
    assert.equal(p.unmet.replicas, 14);
    assert.equal(p.idle.replicas, 0);
  });

  test('Sustained: 0 until the signal has lasted the window, then its least value over the window', () => {
    const s = new Sustained(10_000);
    const a = (replicas: number): Amount => ({ replicas, cpu: replicas, memory: 0 });
    assert.deepEqual(s.add(0, a(5)), NO_AMOUNT);
    assert.deepEqual(s.add(5000, a(3)), NO_AMOUNT);
    assert.deepEqual(s.add(10_000, a(8)), a(3));
    assert.deepEqual(s.add(16_000, a(8)), a(3), 'the 3 read at 5 s held until 10 s, inside the window');
    assert.deepEqual(s.add(21_000, a(8)), a(8), 'once it is older than the window');
    assert.deepEqual(s.add(22_000, NO_AMOUNT), NO_AMOUNT, 'a drop to 0 ends it');
    assert.deepEqual(s.add(23_000, a(8)), NO_AMOUNT, 'and the window starts again');
  });
});

test('Sustained keeps a bounded number of slices, whatever the tick, and never says more than the least sample', () => {
  const s = new Sustained(30_000);
  let last = NO_AMOUNT;
  for (let t = 0; t <= 120_000; t += 10) {
    const replicas = 5 + (Math.floor(t / 1000) % 7);
    last = s.add(t, { replicas, cpu: replicas, memory: 0 });
    assert.ok(s.size <= 65, `${s.size} slices`);
  }
  assert.equal(last.replicas, 5, 'the least over the window');
});

describe('autoscale decision', () => {
  const node = { cpu: 4, memory: 16 * GiB };
  test('nodesFor: out covers the largest dimension, in counts whole nodes in every dimension', () => {
    assert.equal(nodesFor({ replicas: 0, cpu: 5, memory: GiB }, node, 'up'), 2);
    assert.equal(nodesFor({ replicas: 0, cpu: 8, memory: 20 * GiB }, node, 'down'), 1);
    assert.equal(nodesFor({ replicas: 0, cpu: 3.9, memory: 64 * GiB }, node, 'down'), 0);
  });

  test('scale-out at once for any sustained unmet need, at most maxStep nodes, then a cooldown', () => {
    const d = new AutoscaleDecider({ cooldownMs: 60_000, maxStep: 2 });
    const unmet = { replicas: 20, cpu: 20, memory: 20 * GiB };
    const ask = d.decide(0, unmet, NO_AMOUNT, node);
    assert.equal(ask?.direction, 'out');
    assert.equal(ask?.nodes, 2);
    assert.deepEqual(ask?.want, { replicas: 20, cpu: 8, memory: 20 * GiB });
    assert.equal(d.decide(59_999, unmet, NO_AMOUNT, node), undefined, 'cooldown');
    assert.equal(d.decide(60_000, unmet, NO_AMOUNT, node)?.nodes, 2);
  });

  test('scale-in only for whole idle nodes and never while need is unmet; without a node size never', () => {
    const d = new AutoscaleDecider({ cooldownMs: 1000, maxStep: 3 });
    assert.equal(d.decide(0, NO_AMOUNT, { replicas: 9, cpu: 3, memory: 64 * GiB }, node), undefined);
    const unmet = { replicas: 1, cpu: 0.5, memory: 0 };
    assert.equal(d.decide(0, unmet, { replicas: 9, cpu: 9, memory: 64 * GiB }, node)?.direction, 'out');
    const ask = d.decide(5000, NO_AMOUNT, { replicas: 9, cpu: 9, memory: 64 * GiB }, node);
    assert.deepEqual([ask?.direction, ask?.nodes], ['in', 2]);
    assert.equal(
      new AutoscaleDecider({ cooldownMs: 0, maxStep: 3 }).decide(0, NO_AMOUNT, ask?.want ?? NO_AMOUNT),
      undefined,
    );
  });

  test('property: never two requests within a cooldown, never a partial or oversized node, in only when nothing is unmet', () => {
    const amount = fc.record({
      replicas: fc.integer({ min: 0, max: 40 }),
      cpu: fc.integer({ min: 0, max: 40 }),
      memory: fc.integer({ min: 0, max: 160 }).map((g) => g * GiB),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.option(amount, { freq: 2 }), fc.option(amount, { freq: 2 })), {
          maxLength: 120,
        }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1, max: 5 }),
        (ticks, cooldownMs, maxStep) => {
          const d = new AutoscaleDecider({ cooldownMs, maxStep });
          let last: number | undefined;
          ticks.forEach(([u, i], t) => {
            const now = t * 1000;
            const unmet = u ?? NO_AMOUNT;
            const idle = i ?? NO_AMOUNT;
            const ask: AutoscaleAsk | undefined = d.decide(now, unmet, idle, node);
            if (!ask) return;
            if (last !== undefined) assert.ok(now - last >= cooldownMs, 'within the cooldown');
            last = now;
            assert.ok((ask.nodes ?? 0) >= 1 && (ask.nodes ?? 0) <= maxStep);
            if (ask.direction === 'in') {
              assert.deepEqual(unmet, NO_AMOUNT);
              assert.ok(
                ask.want.cpu <= idle.cpu + 1e-9 && ask.want.memory <= idle.memory + 1e-9,
                'only what is idle',
              );
            }
          });
        },
      ),
    );
  });
});
