import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../test/fakes/manual-clock.js';
import type { Source } from '../core/ports.js';
import type { SourceResult } from '../core/types.js';
import { OverridableSource } from './override.js';

function inner(value: number): Source & { closed: boolean } {
  return {
    closed: false,
    read: async (): Promise<SourceResult> => ({ ok: true, reading: { value, at: 0 } }),
    async close() {
      this.closed = true;
    },
  };
}

const value = async (s: Source) => {
  const r = await s.read(new AbortController().signal);
  return r.ok ? r.reading.value : r.error;
};

describe('OverridableSource', () => {
  test('answers the source until a value is set, that value for holdMs, then the source again', async () => {
    const clock = new ManualClock(1000);
    const source = new OverridableSource(inner(7), clock, 30_000);
    assert.equal(await value(source), 7);
    source.set(120);
    assert.equal(await value(source), 120);
    assert.deepEqual(source.current(), { value: 120, until: 31_000 });
    await clock.advance(29_999);
    assert.equal(await value(source), 120);
    await clock.advance(1);
    assert.equal(await value(source), 7);
    assert.equal(source.current(), undefined);
  });

  test('a new value restarts the hold', async () => {
    const clock = new ManualClock(0);
    const source = new OverridableSource(inner(7), clock, 1000);
    source.set(1);
    await clock.advance(900);
    source.set(2);
    await clock.advance(900);
    assert.equal(await value(source), 2);
  });

  test('refuses values that are not finite numbers ≥ 0, keeping the last good one', async () => {
    const source = new OverridableSource(inner(7), new ManualClock(0), 1000);
    source.set(5);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '3' as unknown as number]) {
      assert.throws(() => source.set(bad), RangeError);
    }
    assert.equal(await value(source), 5);
  });

  test('close() closes the wrapped source', async () => {
    const wrapped = inner(1);
    await new OverridableSource(wrapped, new ManualClock(0)).close();
    assert.equal(wrapped.closed, true);
  });
});
