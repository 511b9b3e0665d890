import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from '../../test/fixtures/sources/fake-clock.js';
import { mulberry32, type RandomSettings, RandomSource, randomSchema, randomWalk } from './random.js';

const signal = new AbortController().signal;

async function valueAt(source: RandomSource): Promise<number> {
  const result = await source.read(signal);
  assert.ok(result.ok);
  return result.reading.value;
}

/** The values a source reports at the start of each of `periods` periods, read in order. */
async function sequence(settings: RandomSettings, periods: number): Promise<number[]> {
  const clock = new FakeClock(123_456);
  const source = new RandomSource(settings, clock);
  const out: number[] = [];
  for (let k = 0; k < periods; k++) {
    out.push(await valueAt(source));
    clock.advance(settings.every);
  }
  return out;
}

test('random settings: defaults and validation', () => {
  assert.deepEqual(randomSchema.parse({}), { seed: 1, min: 0, max: 100, step: 10, every: 3000 });
  assert.equal(randomSchema.parse({ every: '100ms' }).every, 100);
  const bad = [
    { min: 10, max: 5 },
    { min: -5 },
    { min: -10, max: -5 },
    { start: 200 },
    { step: -1 },
    { step: 1.5 },
    { seed: 'x' },
    { every: '0s' },
    { every: 'often' },
    { colour: 'red' },
  ];
  for (const settings of bad)
    assert.equal(randomSchema.safeParse(settings).success, false, JSON.stringify(settings));
});

test('mulberry32: same seed, same numbers, all in [0, 1)', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  for (let i = 0; i < 1000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
  }
});

test('random walk: starts midway (or at start) and is deterministic per seed', async () => {
  const settings = randomSchema.parse({ seed: 7 });
  const first = await sequence(settings, 50);
  assert.equal(first[0], 50);
  assert.deepEqual(await sequence(settings, 50), first, 'same seed, same sequence');
  assert.notDeepEqual(
    await sequence({ ...settings, seed: 8 }, 50),
    first,
    'different seed, different sequence',
  );
  assert.equal((await sequence(randomSchema.parse({ start: 3 }), 1))[0], 3);
  assert.equal((await sequence(randomSchema.parse({ min: 0, max: 9 }), 1))[0], 4);
});

test('random walk: different seeds give different sequences', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const settings = randomSchema.parse({ seed });
    seen.add(Array.from({ length: 20 }, (_, k) => randomWalk(settings, k)).join(','));
  }
  assert.equal(seen.size, 200);
});

test('random walk: the value is constant within a period and moves only at period boundaries', async () => {
  const settings = randomSchema.parse({ seed: 3, every: '3s' });
  const clock = new FakeClock(0);
  const source = new RandomSource(settings, clock);
  for (let period = 0; period < 20; period++) {
    const expected = randomWalk(settings, period);
    for (const offset of [0, 1, 1500, 2999]) {
      clock.time = period * 3000 + offset;
      assert.equal(await valueAt(source), expected, `period ${period} +${offset}ms`);
    }
  }
});

test('random walk: a pure function of elapsed periods, however often it is read', async () => {
  const settings = randomSchema.parse({ seed: 11, step: 5, every: 100 });
  const clock = new FakeClock(500);
  const sparse = new RandomSource(settings, clock);
  const dense = new RandomSource(settings, clock);
  let denseAt = 0;
  for (const period of [0, 1, 7, 8, 100, 1000, 1001]) {
    for (; denseAt <= period; denseAt++) {
      clock.time = 500 + denseAt * 100;
      await dense.read(signal); // the dense source is read in every period on the way
    }
    clock.time = 500 + period * 100 + 50;
    const expected = randomWalk(settings, period);
    assert.equal(await valueAt(sparse), expected, `sparse, period ${period}`);
    assert.equal(await valueAt(dense), expected, `dense, period ${period}`);
  }
  clock.time = 500 + 7 * 100; // the clock goes back: the walk replays, it does not drift
  assert.equal(await valueAt(sparse), randomWalk(settings, 7));
  clock.time = 0; // before creation: the start value
  assert.equal(await valueAt(sparse), 50);
});

test('random walk: readings carry the clock time', async () => {
  const clock = new FakeClock(42);
  const source = new RandomSource(randomSchema.parse({}), clock);
  assert.deepEqual(await source.read(signal), { ok: true, reading: { value: 50, at: 42 } });
});

test('random walk (property): within [min, max], each move within step', () => {
  const settingsArb = fc
    .record({
      seed: fc.integer(),
      min: fc.integer({ min: 0, max: 1000 }),
      width: fc.integer({ min: 0, max: 500 }),
      step: fc.integer({ min: 0, max: 50 }),
      startAt: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ seed, min, width, step, startAt }) =>
      randomSchema.parse({ seed, min, max: min + width, step, start: min + Math.floor(startAt * width) }),
    );
  fc.assert(
    fc.property(settingsArb, (settings) => {
      let previous = randomWalk(settings, 0);
      assert.equal(previous, settings.start);
      for (let k = 1; k <= 200; k++) {
        const value = randomWalk(settings, k);
        assert.ok(Number.isInteger(value));
        assert.ok(
          value >= settings.min && value <= settings.max,
          `${value} outside [${settings.min}, ${settings.max}]`,
        );
        assert.ok(
          Math.abs(value - previous) <= settings.step,
          `moved ${value - previous} > step ${settings.step}`,
        );
        previous = value;
      }
    }),
    { numRuns: 200 },
  );
});

test('random walk: unclamped moves cover every integer in [-step, step]', () => {
  const settings = randomSchema.parse({ seed: 5, min: 0, max: 200_000, start: 100_000, step: 3 });
  const deltas = new Set<number>();
  let previous = 100_000;
  for (let k = 1; k <= 500; k++) {
    const value = randomWalk(settings, k);
    deltas.add(value - previous);
    previous = value;
  }
  assert.deepEqual(
    [...deltas].sort((a, b) => a - b),
    [-3, -2, -1, 0, 1, 2, 3],
  );
});
