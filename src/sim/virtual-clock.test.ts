import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualClock } from './virtual-clock.js';

describe('virtual clock', () => {
  test('sleepers wake in time order only when the simulator moves time past them', async () => {
    const clock = new VirtualClock(0);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push('b'));
    void clock.sleep(100).then(() => woke.push('a'));
    void clock.sleep(1000).then(() => woke.push('c'));
    clock.set(200);
    await Promise.resolve();
    assert.deepEqual(woke, ['a']);
    clock.set(500);
    await Promise.resolve();
    assert.deepEqual(woke, ['a', 'b']);
    assert.equal(clock.now(), 500);
    assert.equal(clock.pending, 1);
  });

  test('an aborted sleep resolves at once and is forgotten', async () => {
    const clock = new VirtualClock(0);
    const abort = new AbortController();
    const slept = clock.sleep(1000, abort.signal);
    abort.abort();
    await slept;
    assert.equal(clock.pending, 0);
  });
});
