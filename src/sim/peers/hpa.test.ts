import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hpa } from './hpa.js';

/** Runs the HPA at each 15 s sync with the given loads; pods exist as soon as they are asked for. */
function run(hpa: Hpa, loads: number[]): number[] {
  return loads.map((load, k) => hpa.step(k * 15_000, load, hpa.spec, 0));
}

describe('HPA (default behavior)', () => {
  test('a step is climbed at max(+4, ×2) per 15 s sync', () => {
    const hpa = new Hpa({ min: 1, max: 50 });
    hpa.spec = 2;
    // 2 → 6 (2+4 beats 2×2), 6 → 12 (×2 beats +4), 12 → 20 (the need).
    assert.deepEqual(run(hpa, [20, 20, 20, 20]), [6, 12, 20, 20]);
  });

  test('after a spike, scale-down waits for the 300 s stabilisation window', () => {
    const hpa = new Hpa({ min: 1, max: 50 });
    const loads = [3, 8, ...Array(21).fill(3)];
    const spec = run(hpa, loads);
    assert.equal(spec[0], 3);
    assert.equal(spec[1], 7); // limited to 3 + 4
    // The recommendation of 8 made at t = 15 s holds 7 until it leaves the window: still 7 at 300 s.
    assert.equal(spec[20], 7); // t = 300 s
    assert.equal(spec[21], 3); // t = 315 s: the 8 is out of the window
  });

  test('a slow ramp inside the 0.1 tolerance changes nothing', () => {
    const hpa = new Hpa({ min: 1, max: 50 });
    hpa.spec = 10;
    // 10.9 / 10 is within 1 ± 0.1; 11.5 / 10 is not → ceil(11.5); then 12.5 / 12 is within again.
    assert.deepEqual(run(hpa, [10, 10.5, 10.9, 11.5, 12.5]), [10, 10, 10, 12, 12]);
  });

  test('syncs only every 15 s, and respects max', () => {
    const hpa = new Hpa({ min: 1, max: 5 });
    assert.equal(hpa.step(0, 4, 1, 0), 4);
    assert.equal(hpa.step(100, 40, 4, 0), 4); // between syncs
    assert.equal(hpa.step(15_000, 40, 4, 0), 5);
  });

  test('never scales below one replica, even with min 0 and no load', () => {
    const hpa = new Hpa({ min: 0, max: 10 });
    hpa.spec = 3;
    const loads = Array(25).fill(0);
    assert.equal(run(hpa, loads).at(-1), 1);
    assert.equal(hpa.step(25 * 15_000, 4, 1, 0), 4); // and scales up again from there
  });
});
