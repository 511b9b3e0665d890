import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kpa } from './kpa.js';

/** Feeds a load every 1 s scrape from `from` to `to` (ms) with the ready pods given; returns the last spec. */
function feed(kpa: Kpa, from: number, to: number, load: number, ready: (spec: number) => number): number {
  let spec = kpa.spec;
  for (let t = from; t < to; t += 1000) spec = kpa.step(t, load, ready(spec), 0);
  return spec;
}

describe('Knative KPA', () => {
  test('a step to twice the ready pods panics at the next 2 s tick and scales to the 6 s average', () => {
    const kpa = new Kpa({ min: 0, max: 100 });
    feed(kpa, 0, 60_000, 0.7, () => 1); // steady: 0.7 / 0.7 = 1 pod
    assert.equal(kpa.spec, 1);
    // Load 7 at t = 60 s. The scrape at 60 s and the tick at 60 s: panic average (6 buckets) = (5×0.7 + 7)/6
    // = 1.75 → 3 pods; 3 / 1 ready ≥ 2 → panic, so the panic figure wins over the stable one.
    assert.equal(kpa.step(60_000, 7, 1, 0), 3);
    assert.equal(kpa.step(61_000, 7, 1, 0), 3); // no tick at odd seconds
    // t = 62 s: (3×0.7 + 3×7)/6 = 3.85 → 6.
    assert.equal(kpa.step(62_000, 7, 1, 0), 6);
  });

  test('scale-down is at most halving per tick, and never while panicking', () => {
    const kpa = new Kpa({ min: 0, max: 100 });
    kpa.spec = 16;
    // A long quiet history with 16 ready: stable average 0.7 wants 1, but floor(16 / 2) = 8 is the floor.
    const spec = feed(kpa, 0, 61_000, 0.7, () => 16);
    assert.equal(spec, 8);
    assert.equal(kpa.step(62_000, 0.7, 8, 0), 4);
  });

  test('goes to zero only after 30 s of zero and a minute since activation', () => {
    const kpa = new Kpa({ min: 0, max: 10 });
    feed(kpa, 0, 10_000, 0.5, () => 1);
    // No load from 10 s: the windows still average the old samples, so desired is 1 for a while, then 0
    // only 30 s after the first zero decision.
    let firstZero = -1;
    for (let t = 10_000; t < 200_000; t += 1000) {
      if (kpa.step(t, 0, kpa.spec, 0) === 0) {
        firstZero = t;
        break;
      }
    }
    // Stable average reaches 0 once the 60 s window holds no load: at 70 s; +30 s grace = 100 s.
    assert.equal(firstZero, 100_000);
  });

  test('a request at zero pokes the decider at once', () => {
    const kpa = new Kpa({ min: 0, max: 10 });
    kpa.spec = 0;
    assert.equal(kpa.step(0, 0, 0, 0), 0);
    assert.equal(kpa.step(1000, 2, 0, 0), 2); // a scrape and a poke at 1 s, not the 2 s tick
  });
});
