import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceSpec } from '../core/types.js';
import { buildSetup } from './build.js';
import { NODE_POLICIES } from './node-policies.js';
import { runSimulation } from './simulation.js';

const base = { min: 0, max: 20, resources: { cpu: 0, memory: 0 }, scaleDownWindowMs: 2000, run: {} };
const services: ServiceSpec[] = [
  { ...base, name: 'web', priority: 1, rule: { type: 'queue', perReplicaRate: 2, drainSeconds: 1 } },
  { ...base, name: 'batch', priority: 2, rule: { type: 'remainder' } },
];

describe('quiet spans on a cluster of nodes', () => {
  test('stepping over quiet spans gives the same scores and node-hours as step by step', {
    timeout: 120_000,
  }, async () => {
    // Hour-long intervals: nodes boot, are given back, and then nothing moves for most of each hour.
    const web = [4 * 3600, 4 * 3600, 20 * 3600, 0, 6 * 3600];
    const setup = buildSetup({
      capacity: 24,
      intervalMs: 100,
      readTimeoutMs: 1000,
      services,
      demand: new Map([['web', { column: { step: 3600, demand: web }, timeScale: 1 }]]),
      seed: 5,
      nodes: {
        size: 4,
        initial: 2,
        min: 1,
        max: 6,
        boot: { kind: 'uniform', minMs: 90_000, maxMs: 240_000 },
        removal: { kind: 'uniform', minMs: 30_000, maxMs: 60_000 },
        timeScale: 1,
      },
    });
    for (const [name, factory] of Object.entries(NODE_POLICIES)) {
      const skipped = await runSimulation(setup, factory);
      const stepped = await runSimulation(setup, factory, { skipQuiet: false });
      assert.ok(skipped.totals.steps === stepped.totals.steps, name);
      for (const [key, value] of Object.entries({ ...stepped.scores, ...stepped.nodes })) {
        const got = { ...skipped.scores, ...skipped.nodes }[key] as number;
        assert.ok(
          Math.abs(got - value) <= 1e-9 * Math.max(1, Math.abs(value)),
          `${name} ${key}: ${got} vs ${value}`,
        );
      }
    }
  });
});
