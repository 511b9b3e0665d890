import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Nomad } from './nomad.js';

describe('Nomad target-value', () => {
  test('a step scales to ceil(count × factor), then the 5 min cooldown blocks every evaluation', () => {
    const nomad = new Nomad({ min: 1, max: 50 });
    assert.equal(nomad.step(0, 1), 1); // factor 1: nothing
    assert.equal(nomad.step(10_000, 7.5), 8); // factor 7.5 → ceil(1 × 7.5)
    assert.equal(nomad.step(20_000, 30), 8); // cooldown
    assert.equal(nomad.step(300_000, 30), 8); // evaluation at 300 s: cooldown ends at 310 s
    assert.equal(nomad.step(310_000, 30), 30);
  });

  test('a slow ramp within the 0.01 threshold is ignored; one just above it is not', () => {
    const nomad = new Nomad({ min: 10, max: 50 });
    assert.equal(nomad.step(0, 10.09), 10); // factor 1.009
    assert.equal(nomad.step(10_000, 10.2), 11); // factor 1.02
  });

  test('from zero, scales to ceil(metric)', () => {
    const nomad = new Nomad({ min: 0, max: 50 });
    assert.equal(nomad.step(0, 0), 0);
    assert.equal(nomad.step(10_000, 2.2), 3);
  });
});
