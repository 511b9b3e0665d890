import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceSpec } from '../core/types.js';
import { buildSetup } from './build.js';
import { POLICIES } from './policies.js';
import { runSimulation } from './simulation.js';

const base = { min: 0, max: 20, resources: { cpu: 0, memory: 0 }, scaleDownWindowMs: 2000, run: {} };
const services: ServiceSpec[] = [
  { ...base, name: 'web', priority: 1, rule: { type: 'queue', perReplicaRate: 2, drainSeconds: 1 } },
  { ...base, name: 'batch', priority: 2, rule: { type: 'remainder' } },
];
// A step, a spike and a slow ramp, 60 s intervals replayed a minute per second.
// At 60× a trace minute's demand arrives in a simulated second: 24 units need 12 replicas of 2 units/s.
const web = [6, 6, 6, 24, 24, 24, 6, 6, 26, 6, 6, 8, 10, 12, 14, 16, 18, 20, 6, 6];

function setup(seed: number) {
  return buildSetup({
    capacity: 14,
    intervalMs: 100,
    readTimeoutMs: 1000,
    services,
    demand: new Map([['web', { column: { step: 60, demand: web }, timeScale: 60 }]]),
    seed,
  });
}

describe('simulation', () => {
  test('is deterministic for a seed, and the seed matters', async () => {
    const a = await runSimulation(setup(7), POLICIES.microscaler as never);
    const b = await runSimulation(setup(7), POLICIES.microscaler as never);
    const c = await runSimulation(setup(8), POLICIES.microscaler as never);
    assert.deepEqual(a.scores, b.scores);
    assert.deepEqual(a.series, b.series);
    assert.notDeepEqual(a.totals, c.totals);
  });

  test('the fast microscaler policy decides exactly as the real Controller does', async () => {
    const fast = await runSimulation(setup(3), POLICIES.microscaler as never);
    const real = await runSimulation(setup(3), POLICIES['microscaler-controller'] as never);
    assert.deepEqual(fast.scores, real.scores);
    assert.deepEqual(fast.totals, real.totals);
  });

  test('priority 1 preempts priority 2 alike in the fast and the real policy, and batch gives way', async () => {
    // Batch soaks up all 10 replicas while web is idle; web's spike (8 units a second: 4 replicas, more
    // while its backlog drains) takes them from batch, which gets them back once web scales down.
    const demand = [0, 0, 0, 8, 8, 8, 8, 8, 0, 0, 0, 0, 0, 0];
    const spike = buildSetup({
      capacity: 10,
      intervalMs: 100,
      readTimeoutMs: 1000,
      services,
      demand: new Map([['web', { column: { step: 60, demand }, timeScale: 60 }]]),
      seed: 5,
    });
    const fast = await runSimulation(spike, POLICIES.microscaler as never, { skipQuiet: false });
    const real = await runSimulation(spike, POLICIES['microscaler-controller'] as never, {
      skipQuiet: false,
    });
    assert.deepEqual(fast.scores, real.scores);
    assert.deepEqual(fast.totals, real.totals);
    assert.deepEqual(fast.series, real.series);
    const { t, p1, p2 } = fast.series;
    const spikeAt = t.findIndex((s) => s >= 3);
    assert.equal(Math.min(...p2.slice(0, spikeAt)), 10, 'batch has all 10 replicas while web is idle');
    const k = p1.findIndex((n) => n >= 4);
    assert.ok(k > spikeAt && (p2[k] as number) <= 6, 'web gets the 4 replicas its rate needs from batch');
    assert.equal(fast.scores.overshoot, 0);
    assert.equal(p2.at(-1), 10, 'batch takes everything back after the spike');
  });

  test('every policy conserves work, and only Force12 exceeds capacity', async () => {
    for (const [name, factory] of Object.entries(POLICIES)) {
      if (name === 'microscaler-controller') continue;
      const r = await runSimulation(setup(1), factory);
      const t = r.totals;
      assert.ok(Math.abs(t.p1Arrived - t.p1Served - t.p1Backlog) < 1e-6, name);
      assert.ok(Math.abs(t.p1Arrived - web.reduce((x, y) => x + y, 0)) < 1e-6, name);
      if (name !== 'force12') assert.equal(r.scores.overshoot, 0, name);
      assert.ok(r.scores.utilisation > 0 && r.scores.utilisation <= 1, name);
    }
  });

  test('the oracle is never late here; the static split wastes what its peak reservation leaves idle', async () => {
    const oracle = await runSimulation(setup(1), POLICIES.oracle as never);
    const fixed = await runSimulation(setup(1), POLICIES.static as never);
    assert.equal(oracle.scores.p1LateWork, 0);
    // Static holds the peak, 26 / 2 = 13 replicas, for web all the time: batch gets 1 of 14.
    assert.ok(fixed.scores.p2WorkDone <= 20);
    assert.ok(oracle.scores.p2WorkDone > 2 * fixed.scores.p2WorkDone);
    assert.ok(fixed.scores.utilisation < oracle.scores.utilisation);
  });
});
