import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceSpec } from '../core/types.js';
import { buildSetup } from './build.js';
import { POLICIES } from './policies.js';
import { runSimulation } from './simulation.js';

const base = { min: 0, max: 20, resources: { cpu: 0, memory: 0 }, scaleDownWindowMs: 2000, run: {} };
const services: ServiceSpec[] = [
  { ...base, name: 'web', priority: 1, rule: { type: 'queue', perReplicaRate: 2, drainSeconds: 1 } },
  { ...base, name: 'api', priority: 1, rule: { type: 'target', perReplica: 10, activation: 0 } },
  { ...base, name: 'batch', priority: 2, rule: { type: 'remainder' } },
];

function setup(step: number, web: number[], api?: number[]) {
  return buildSetup({
    capacity: 14,
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: api ? services : services.filter((s) => s.name !== 'api'),
    demand: new Map([
      ['web', { column: { step, demand: web }, timeScale: 1 }],
      ...(api ? [['api', { column: { step, demand: api }, timeScale: 1 }] as const] : []),
    ]),
    seed: 5,
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('quiet spans', () => {
  test('a trace whose intervals last 86,400,000 s runs in moments, every unit accounted for', {
    timeout: 120_000,
  }, async () => {
    // 2 intervals of 1000 days at 100 ms steps: 1.7 billion steps one by one.
    const web = [1.5 * 86_400_000, 3 * 86_400_000];
    const s = setup(86_400_000, web);
    for (const [name, factory] of Object.entries(POLICIES)) {
      // Force12 keeps a queue of about 50 and acts on it every 500 ms: it never stands still to step over.
      if (name === 'microscaler-controller' || name === 'force12') continue;
      const r = await runSimulation(s, factory);
      assert.equal(r.totals.steps, 1_728_000_000, name);
      assert.ok(Math.abs(r.totals.p1Arrived - sum(web)) < 1e-6 * sum(web), name);
      assert.ok(Math.abs(r.totals.p1Arrived - r.totals.p1Served - r.totals.p1Backlog) < 1e-3, name);
      assert.ok(
        r.series.t.length > 500 && r.series.t.length <= 1001,
        `${name}: ${r.series.t.length} samples`,
      );
    }
  });

  test('stepping over spans changes no score: the same run step by step gives the same results', {
    timeout: 300_000,
  }, async () => {
    // Hours of one demand, then a change: long quiet spans between, 216,000 steps one by one.
    const web = [4, 4, 20, 0, 0, 6];
    const api = [30, 30, 30, 0, 90, 0];
    const s = setup(3600, web, api);
    for (const [name, factory] of Object.entries(POLICIES)) {
      if (name === 'microscaler-controller') continue;
      const skipped = await runSimulation(s, factory);
      const stepped = await runSimulation(s, factory, { skipQuiet: false });
      // The same up to the rounding of sums taken in another order.
      for (const [key, value] of Object.entries(stepped.scores)) {
        const got = skipped.scores[key as keyof typeof skipped.scores];
        assert.ok(
          Math.abs(got - value) <= 1e-9 * Math.max(1, Math.abs(value)),
          `${name} ${key}: ${got} vs ${value}`,
        );
      }
      assert.deepEqual(skipped.series.t, stepped.series.t, name);
      assert.deepEqual(skipped.series.p1, stepped.series.p1, name);
      assert.deepEqual(skipped.series.p2, stepped.series.p2, name);
    }
  });
});
