import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../test/fixtures/sources/fake-clock.js';
import { StaticSource, staticSchema } from './static.js';

test('static returns its value, stamped with the clock', async () => {
  const clock = new FakeClock(5000);
  const source = new StaticSource({ value: 42 }, clock);
  assert.deepEqual(await source.read(new AbortController().signal), {
    ok: true,
    reading: { value: 42, at: 5000 },
  });
  clock.advance(1000);
  assert.deepEqual(await source.read(new AbortController().signal), {
    ok: true,
    reading: { value: 42, at: 6000 },
  });
  await source.close();
});

test('static settings need a finite value ≥ 0', () => {
  for (const bad of [{}, { value: -1 }, { value: Number.NaN }, { value: '3' }, { value: 1, extra: 2 }]) {
    assert.equal(staticSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.deepEqual(staticSchema.parse({ value: 0 }), { value: 0 });
});
