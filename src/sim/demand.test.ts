import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DemandReplay } from './demand.js';

describe('DemandReplay', () => {
  test('spreads each interval evenly, at the replay speed', () => {
    // 60 s intervals at 60× replay: each interval lasts one simulated second.
    const d = new DemandReplay({ step: 60, demand: [60, 120, 0] }, 60);
    assert.equal(d.durationMs, 3000);
    assert.equal(d.rate(500), 60); // 60 units over one simulated second
    assert.equal(d.rate(1000), 120);
    assert.equal(d.value(1500), 120);
    assert.equal(d.arrivals(500, 1500), 30 + 60);
    assert.equal(d.arrivals(0, 10_000), 180);
    assert.equal(d.rate(5000), 0);
  });

  test('spans shorter than an interval and longer than several agree', () => {
    const d = new DemandReplay({ step: 1, demand: [3, 5, 7, 11] }, 60);
    let sum = 0;
    for (let t = 0; t < 100; t += 10) sum += d.arrivals(t, t + 10);
    assert.ok(Math.abs(sum - 26) < 1e-9);
  });
});
