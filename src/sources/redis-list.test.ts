import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import { errorOf, liveContext, readSignal, serverGate, uniqueName } from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { createSource } from './registry.js';

const URL = 'redis://127.0.0.1:6379';
const skip = await serverGate('Redis', 6379);

test('redis-list: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'redis-list', key: 'jobs' }, ['source.url: expected a redis:// or rediss:// URL']],
    [
      { type: 'redis-list', url: 'http://:pw-secret@x:1', key: 'jobs' },
      ['source.url: must be a redis:// or rediss:// URL with a host'],
    ],
    [{ type: 'redis-list', url: URL }, ['source.key: expected a non-empty string']],
    [{ type: 'redis-list', url: URL, key: '' }, ['source.key: must not be empty']],
    [
      { type: 'redis-list', url: URL, key: 'jobs', timeout: 'soon' },
      ['source.timeout: invalid duration "soon" (use e.g. 100ms, 3s, 5m, or a number of ms)'],
    ],
    [
      { type: 'redis-list', url: URL, key: 'jobs', rate: true },
      ['source.rate: unknown setting (known: url, key, counterKey, rateWindow, timeout)'],
    ],
  ];
  for (const [spec, problems] of cases) {
    await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.problems, problems, JSON.stringify(spec));
      return true;
    });
  }
});

describe('redis-list against Redis', { skip }, () => {
  let redis: Redis;
  const keys: string[] = [];
  const key = (name: string) => {
    const k = uniqueName(`ms-test:${name}`);
    keys.push(k);
    return k;
  };
  before(() => {
    redis = new Redis(URL);
  });
  after(async () => {
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  test('the value tracks the list as jobs are pushed and popped; a missing key is an empty list', async () => {
    const k = key('list');
    const source = await createSource({ type: 'redis-list', url: URL, key: k }, liveContext());
    try {
      const value = async () => {
        const r = await source.read(readSignal());
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.reading.rate, undefined, 'no counterKey, no rate');
        return r.reading.value;
      };
      assert.equal(await value(), 0);
      await redis.rpush(k, 'a', 'b', 'c');
      assert.equal(await value(), 3);
      await redis.lpop(k, 2);
      assert.equal(await value(), 1);
      await redis.rpush(k, ...Array.from({ length: 500 }, (_, i) => `job${i}`));
      assert.equal(await value(), 501);
      await redis.del(k);
      assert.equal(await value(), 0);
    } finally {
      await source.close();
    }
  });

  test('a key of another type is a clear error', async () => {
    const k = key('string');
    await redis.set(k, 'not a list');
    const source = await createSource({ type: 'redis-list', url: URL, key: k }, liveContext());
    try {
      assert.match(
        errorOf(await source.read(readSignal())),
        /key ".*" holds another type of value \(WRONGTYPE/,
      );
    } finally {
      await source.close();
    }
  });

  test('with counterKey, rate is the counter growth per second over the window', async () => {
    const [k, counter] = [key('list'), key('counter')];
    const ctx = fakeContext(); // the clock stamps readings, so rates are exact
    const source = await createSource(
      { type: 'redis-list', url: URL, key: k, counterKey: counter, rateWindow: '2s' },
      ctx,
    );
    try {
      const read = async () => {
        const r = await source.read(readSignal());
        assert.ok(r.ok, JSON.stringify(r));
        return r.reading;
      };
      assert.equal((await read()).rate, undefined, 'first reading: no history, no rate');
      const steps: [number, number, number][] = [
        // [ms later, jobs pushed meanwhile, expected rate over the window]
        [1000, 40, 40],
        [1000, 20, 30], // 60 in 2 s
        [1000, 0, 10], // the window slides: 20 in the last 2 s
      ];
      for (const [ms, pushed, rate] of steps) {
        ctx.clock.advance(ms);
        if (pushed) await redis.incrby(counter, pushed);
        assert.equal((await read()).rate, rate);
      }
      await redis.del(counter); // the counter went back: no rate until there is history again
      ctx.clock.advance(1000);
      assert.equal((await read()).rate, undefined);
    } finally {
      await source.close();
    }
  });

  connectionContract('redis-list', {
    serverPort: 6379,
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'redis-list',
          url: `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`,
          key: key('contract'),
        },
        ctx,
      ),
    healthy: (value) => value === 0,
  });
});
