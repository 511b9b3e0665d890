import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationSchema, formatDuration, parseDuration } from './duration.js';

test('parseDuration accepts units and plain ms', () => {
  const cases: [unknown, number][] = [
    ['100ms', 100],
    ['3s', 3000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    [' 0s ', 0],
    [250, 250],
    [0, 0],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, String(input));
});

test('parseDuration rejects what is not a duration', () => {
  for (const input of [
    '',
    '3',
    's',
    '-1s',
    '3 days',
    '1e3ms',
    -5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    null,
    true,
    {},
  ]) {
    assert.throws(() => parseDuration(input), RangeError, String(input));
  }
  assert.throws(() => parseDuration('3x'), /invalid duration "3x" \(use e\.g\. 100ms, 3s, 5m/);
});

test('formatDuration gives the shortest exact form', () => {
  const cases: [number, string][] = [
    [250, '250ms'],
    [1500, '1.5s'],
    [60_000, '1m'],
    [90_000, '90s'],
    [3_600_000, '1h'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text);
});

test('durationSchema outputs ms, is idempotent, and can require a positive duration', () => {
  const schema = durationSchema({ positive: true });
  assert.equal(schema.parse('3s'), 3000);
  assert.equal(schema.parse(schema.parse('3s')), 3000);
  assert.equal(schema.safeParse('0ms').error?.issues[0]?.message, 'must be longer than 0');
  assert.match(schema.safeParse('soon').error?.issues[0]?.message ?? '', /invalid duration "soon"/);
  assert.equal(durationSchema().parse(0), 0);
});
