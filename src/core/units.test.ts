import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration, parseMemory } from './units.js';

describe('parseDuration', () => {
  const good: Array<[string | number, number]> = [
    ['100ms', 100],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['.5s', 500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['0.5ms', 0.5],
    ['0ms', 0],
    [' 2s ', 2000],
    ['0', 0],
    [0, 0],
  ];
  for (const [input, ms] of good) {
    test(`${JSON.stringify(input)} → ${ms} ms`, () => assert.equal(parseDuration(input), ms));
  }

  const bad: Array<string | number> = [
    100,
    1.5,
    -1,
    '100',
    '2',
    '-2s',
    '2 s',
    '2x',
    's',
    '',
    '  ',
    '1e3ms',
    '1.s',
    '2S',
    '1d',
    'ms2',
    '1m1m',
    '30s1m',
    '1s500ms1s',
  ];
  for (const input of bad) {
    test(`${JSON.stringify(input)} is refused`, () => {
      assert.throws(
        () => parseDuration(input),
        (error: unknown) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, /^invalid duration .*(like 100ms|add a unit|largest first)/);
          return true;
        },
      );
    });
  }
});

describe('parseMemory', () => {
  const good: Array<[string | number, number]> = [
    ['64Mi', 64 * 2 ** 20],
    ['2Gi', 2 * 2 ** 30],
    ['512Ki', 512 * 1024],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1G', 1e9],
    ['1M', 1e6],
    ['1k', 1000],
    ['1K', 1000],
    ['2T', 2e12],
    ['100', 100],
    ['0', 0],
    ['1.5Ki', 1536],
    ['0.1K', 100],
    ['1.5', 2],
    ['0.5Gi', 2 ** 29],
    [100, 100],
    [0, 0],
  ];
  for (const [input, bytes] of good) {
    test(`${JSON.stringify(input)} → ${bytes} bytes`, () => assert.equal(parseMemory(input), bytes));
  }

  const bad: Array<string | number> = [
    '64mb',
    '64MB',
    '1m',
    '1g',
    '1Ei',
    '-1',
    '1 Gi',
    'Gi',
    '',
    'lots',
    1.5,
    -1,
    2 ** 60,
    '9999Pi',
  ];
  for (const input of bad) {
    test(`${JSON.stringify(input)} is refused`, () => {
      assert.throws(
        () => parseMemory(input),
        (error: unknown) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, /^invalid memory size /);
          return true;
        },
      );
    });
  }
});
