import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { demandValue, MAX_DEMAND } from './demand-value.js';

describe('demandValue', () => {
  test('numbers, bigints and decimal strings within 0..MAX_DEMAND are demand', () => {
    assert.equal(demandValue(0, 'v'), 0);
    assert.equal(demandValue(42.5, 'v'), 42.5);
    assert.equal(demandValue(7n, 'v'), 7);
    assert.equal(demandValue(' 12 ', 'v'), 12);
    assert.equal(demandValue('1e3', 'v'), 1000);
    assert.equal(demandValue(MAX_DEMAND, 'v'), MAX_DEMAND);
  });

  const nonsense: [unknown, RegExp][] = [
    [Number.NaN, /v is NaN, not a finite number/],
    [Number.POSITIVE_INFINITY, /not a finite number/],
    ['1e999', /not a finite number/],
    [-1, /v is -1; demand cannot be negative/],
    [MAX_DEMAND * 10, /beyond any real demand/],
    [1e300, /beyond any real demand/],
    [2n ** 80n, /beyond any real demand/],
    ['lots', /v is "lots", not a number/],
    ['', /not a number/],
    [undefined, /v is missing, not a number/],
    [null, /v is null, not a number/],
    [true, /v is true, not a number/],
    [[3], /v is an array of 1, not a number/],
    [{ value: 3 }, /v is an object, not a number/],
  ];
  for (const [raw, message] of nonsense) {
    test(`${String(raw)} is an error, never a value`, () => {
      assert.throws(() => demandValue(raw, 'v'), message);
    });
  }
});
