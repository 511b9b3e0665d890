import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Closers } from './closers.js';

/** Closers that log `close NAME` (throwing for names in `failing`), after `opened` were pushed. */
function stack(opened: readonly string[], failing: readonly string[] = []) {
  const log: string[] = [];
  const closers = new Closers();
  for (const name of opened) {
    closers.push(async () => {
      log.push(`close ${name}`);
      if (failing.includes(name)) throw new Error(`${name} failed`);
    });
  }
  return { closers, log };
}

const closes: Array<[string, string[], string[], string[], RegExp | undefined]> = [
  ['nothing open', [], [], [], undefined],
  ['newest first', ['a', 'b', 'c'], [], ['close c', 'close b', 'close a'], undefined],
  [
    'a failure lets the rest close, then throws',
    ['a', 'b', 'c'],
    ['b'],
    ['close c', 'close b', 'close a'],
    /b failed/,
  ],
  ['the first failure is the one thrown', ['a', 'b'], ['a', 'b'], ['close b', 'close a'], /b failed/],
];
for (const [name, opened, failing, order, error] of closes) {
  test(`close: ${name}`, async () => {
    const { closers, log } = stack(opened, failing);
    if (error) await assert.rejects(closers.close(), error);
    else await closers.close();
    assert.deepEqual(log, order);
    await closers.close(); // each close runs once
    assert.deepEqual(log, order);
  });
}

test('open: a success closes nothing and gives its value', async () => {
  const { closers, log } = stack(['a']);
  assert.equal(await closers.open(async () => 42), 42);
  assert.deepEqual(log, []);
});

test("open: a failure closes what is open, newest first, and rethrows the opening's error", async () => {
  const { closers, log } = stack(['a', 'b'], ['b']);
  await assert.rejects(
    closers.open(() => {
      throw new Error('cannot open c');
    }),
    /cannot open c/,
  );
  assert.deepEqual(log, ['close b', 'close a']);
});
