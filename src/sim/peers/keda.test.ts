import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Keda } from './keda.js';

describe('KEDA', () => {
  test('activates 0 → 1 only at a 30 s poll, then the HPA scales 1 → N at its 15 s sync', () => {
    const keda = new Keda({ min: 0, max: 20 });
    assert.equal(keda.step(0, 0, 0, 0), 0);
    assert.equal(keda.step(10_000, 9, 0, 0), 0); // demand, but no poll yet (and the HPA is parked at 0)
    assert.equal(keda.step(15_000, 9, 0, 0), 0);
    // Poll at 30 s: active → 1; the HPA syncs in the same instant: 1 → min(9, 1 + 4) = 5.
    assert.equal(keda.step(30_000, 9, 0, 0), 5);
    assert.equal(keda.step(45_000, 9, 5, 0), 9);
  });

  test('goes back to zero once inactive for longer than the 300 s cooldown', () => {
    const keda = new Keda({ min: 0, max: 20 });
    keda.step(0, 2, 0, 0); // active at t = 0
    let spec = 0;
    for (let t = 15_000; t <= 300_000; t += 15_000) spec = keda.step(t, 0, 1, 0);
    assert.equal(spec, 1); // 300 s after the last active poll: not yet (strictly longer)
    assert.equal(keda.step(330_000, 0, 1, 0), 0);
  });
});
