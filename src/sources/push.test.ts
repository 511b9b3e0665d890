import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../test/fixtures/sources/fake-clock.js';
import { isPushSource, PushSource, pushSchema } from './push.js';
import { StaticSource } from './static.js';

const signal = new AbortController().signal;

function setup(maxAge?: string) {
  const clock = new FakeClock(10_000);
  return { clock, source: new PushSource(pushSchema.parse(maxAge === undefined ? {} : { maxAge }), clock) };
}

test('push: no value yet is an error, not zero', async () => {
  const { source } = setup();
  assert.deepEqual(await source.read(signal), { ok: false, error: 'no value pushed yet' });
});

test('push: a fresh value is read back, stamped with the read time', async () => {
  const { clock, source } = setup();
  source.push(7);
  clock.advance(500);
  assert.deepEqual(await source.read(signal), { ok: true, reading: { value: 7, at: 10_500 } });
  source.push(0);
  assert.deepEqual(await source.read(signal), { ok: true, reading: { value: 0, at: 10_500 } });
});

test('push: a value older than maxAge (default 1m) is an error', async () => {
  const { clock, source } = setup();
  source.push(7);
  clock.advance(60_000);
  assert.equal((await source.read(signal)).ok, true, 'exactly maxAge old is still fresh');
  clock.advance(1000);
  assert.deepEqual(await source.read(signal), { ok: false, error: 'last value is 61s old (maxAge 1m)' });
  source.push(8);
  assert.equal((await source.read(signal)).ok, true, 'a new push makes it fresh again');
});

test('push: maxAge is configurable', async () => {
  const { clock, source } = setup('500ms');
  source.push(1);
  clock.advance(750);
  assert.deepEqual(await source.read(signal), { ok: false, error: 'last value is 0.8s old (maxAge 500ms)' });
});

test('push: rejects values that are not finite numbers ≥ 0, and keeps the last good one', async () => {
  const { source } = setup();
  source.push(3);
  const bad: unknown[] = [-1, Number.NaN, Number.POSITIVE_INFINITY, '5', null, undefined];
  for (const value of bad) {
    assert.throws(() => source.push(value as number), RangeError, String(value));
  }
  assert.throws(() => source.push(-1), { message: 'demand must be a finite number ≥ 0, got -1' });
  assert.throws(() => source.push('5' as unknown as number), {
    message: 'demand must be a finite number ≥ 0, got "5"',
  });
  assert.deepEqual(await source.read(signal), { ok: true, reading: { value: 3, at: 10_000 } });
});

test('push: settings', () => {
  assert.deepEqual(pushSchema.parse({}), { maxAge: 60_000 });
  assert.deepEqual(pushSchema.parse({ maxAge: '5s' }), { maxAge: 5000 });
  for (const bad of [{ maxAge: '0s' }, { maxAge: 'soon' }, { other: 1 }]) {
    assert.equal(pushSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('isPushSource tells push sources apart', () => {
  const clock = new FakeClock();
  assert.equal(isPushSource(new PushSource({ maxAge: 1000 }, clock)), true);
  assert.equal(isPushSource(new StaticSource({ value: 1 }, clock)), false);
});
