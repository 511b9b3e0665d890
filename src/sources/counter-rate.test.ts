import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CounterRate } from './counter-rate.js';

test('CounterRate: growth per second over the window, none without history or after a reset', () => {
  const rate = new CounterRate(1000);
  const steps: [number, number, number | undefined][] = [
    // [at ms, counter, expected rate]
    [0, 100, undefined], // first reading
    [100, 110, 100], // 10 in 0.1 s
    [500, 150, 100],
    [1000, 150, 50], // 50 in the last 1 s
    [1500, 150, 0], // the window has slid past every arrival
    [1600, 20, undefined], // the counter went back (recreated): start over
    [2600, 120, 100],
  ];
  for (const [at, count, expected] of steps) assert.equal(rate.update(count, at), expected, `at ${at}`);
});

test('CounterRate: a second reading at the same time replaces the first', () => {
  const rate = new CounterRate(1000);
  rate.update(0, 0);
  rate.update(10, 500);
  assert.equal(rate.update(20, 500), 40);
});
