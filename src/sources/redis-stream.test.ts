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

test('redis-stream: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'redis-stream', url: URL, stream: 's' }, ['source.group: expected a non-empty string']],
    [
      { type: 'redis-stream', url: URL, stream: 's', group: 'g', rate: 'yes' },
      ['source.rate: expected boolean, received string'],
    ],
    [
      { type: 'redis-stream', url: 'redis://', stream: 's', group: 'g' },
      ['source.url: must be a redis:// or rediss:// URL with a host'],
    ],
  ];
  for (const [spec, problems] of cases) {
    await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.problems, problems);
      return true;
    });
  }
});

describe('redis-stream against Redis', { skip }, () => {
  let redis: Redis;
  const streams: string[] = [];
  const newStream = async (group = 'workers') => {
    const s = uniqueName('ms-test:stream');
    streams.push(s);
    await redis.xgroup('CREATE', s, group, '$', 'MKSTREAM');
    return s;
  };
  before(() => {
    redis = new Redis(URL);
  });
  after(async () => {
    if (streams.length) await redis.del(...streams);
    redis.disconnect();
  });

  test('the value is lag + pending: it tracks entries added, delivered and acknowledged', async () => {
    const stream = await newStream();
    const source = await createSource(
      { type: 'redis-stream', url: URL, stream, group: 'workers' },
      liveContext(),
    );
    const value = async () => {
      const r = await source.read(readSignal());
      assert.ok(r.ok, JSON.stringify(r));
      return r.reading.value;
    };
    try {
      assert.equal(await value(), 0);
      for (let i = 0; i < 10; i++) await redis.xadd(stream, '*', 'job', String(i));
      assert.equal(await value(), 10, '10 undelivered (lag)');
      const read = (await redis.xreadgroup('GROUP', 'workers', 'c1', 'COUNT', 4, 'STREAMS', stream, '>')) as [
        string,
        [string, string[]][],
      ][];
      const ids = read[0]?.[1].map(([id]) => id) ?? [];
      assert.equal(ids.length, 4);
      assert.equal(await value(), 10, '6 lag + 4 pending: delivered is not done');
      await redis.xack(stream, 'workers', ...ids.slice(0, 3));
      assert.equal(await value(), 7, '6 lag + 1 pending');
      await redis.xreadgroup('GROUP', 'workers', 'c1', 'COUNT', 100, 'STREAMS', stream, '>');
      assert.equal(await value(), 7, '0 lag + 7 pending');
    } finally {
      await source.close();
    }
  });

  test('rate: arrivals per second from entries-added, not net growth', async () => {
    const stream = await newStream();
    const ctx = fakeContext();
    const source = await createSource(
      { type: 'redis-stream', url: URL, stream, group: 'workers', rate: true, rateWindow: '1s' },
      ctx,
    );
    try {
      assert.equal((await source.read(readSignal())).ok, true);
      for (let i = 0; i < 30; i++) await redis.xadd(stream, '*', 'job', String(i));
      // Consumers take and acknowledge all of it: the backlog is flat, arrivals were 30.
      const got = (await redis.xreadgroup('GROUP', 'workers', 'c', 'COUNT', 100, 'STREAMS', stream, '>')) as [
        string,
        [string, string[]][],
      ][];
      await redis.xack(stream, 'workers', ...(got[0]?.[1].map(([id]) => id) ?? []));
      ctx.clock.advance(500);
      const r = await source.read(readSignal());
      assert.deepEqual(r.ok && { value: r.reading.value, rate: r.reading.rate }, { value: 0, rate: 60 });
    } finally {
      await source.close();
    }
  });

  test('a missing stream or group is a clear runtime error', async () => {
    const stream = await newStream('workers');
    const cases: [string, string, RegExp][] = [
      [uniqueName('ms-test:none'), 'workers', /stream ".*" does not exist/],
      [stream, 'nobody', /consumer group "nobody" not found \(groups: workers\)/],
    ];
    for (const [s, group, message] of cases) {
      const source = await createSource({ type: 'redis-stream', url: URL, stream: s, group }, liveContext());
      try {
        assert.match(errorOf(await source.read(readSignal())), message);
      } finally {
        await source.close();
      }
    }
  });

  let contractStream = '';
  before(async () => {
    contractStream = await newStream();
  });
  connectionContract('redis-stream', {
    serverPort: 6379,
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'redis-stream',
          url: `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`,
          stream: contractStream,
          group: 'workers',
        },
        ctx,
      ),
    healthy: (value) => value === 0,
  });
});
