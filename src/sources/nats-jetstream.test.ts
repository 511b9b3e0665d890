import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AckPolicy, connect, type JetStreamManager, type NatsConnection } from 'nats';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import {
  errorOf,
  liveContext,
  readSignal,
  readUntil,
  serverGate,
  uniqueName,
  valueIs,
} from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { createSource } from './registry.js';

const URL = 'nats://127.0.0.1:4222';
const skip = await serverGate('NATS', 4222);

test('nats-jetstream: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'nats-jetstream', url: URL, stream: 's' }, ['source.consumer: expected a non-empty string']],
    [
      { type: 'nats-jetstream', url: 'http://x', stream: 's', consumer: 'c' },
      ['source.url: must be a nats:// or tls:// URL with a host'],
    ],
    [
      { type: 'nats-jetstream', url: URL, stream: 's', consumer: 'c', rateWindow: '0s' },
      ['source.rateWindow: must be longer than 0'],
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

describe('nats-jetstream against NATS', { skip }, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];
  /** A stream on its own subject with a durable pull consumer `workers`. */
  const newStream = async () => {
    const name = uniqueName('ms_test').replace(/-/g, '_');
    streams.push(name);
    await jsm.streams.add({ name, subjects: [`${name}.jobs`] });
    await jsm.consumers.add(name, { durable_name: 'workers', ack_policy: AckPolicy.Explicit });
    return name;
  };
  before(async () => {
    nc = await connect({ servers: URL });
    jsm = await nc.jetstreamManager();
  });
  after(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => {});
    await nc.close();
  });

  test('the value is pending + ack-pending, as messages are published, delivered and acknowledged', async () => {
    const stream = await newStream();
    const js = nc.jetstream();
    const source = await createSource(
      { type: 'nats-jetstream', url: URL, stream, consumer: 'workers' },
      liveContext(),
    );
    try {
      await readUntil(source, valueIs(0), 'empty');
      for (let i = 0; i < 12; i++) await js.publish(`${stream}.jobs`, String(i));
      await readUntil(source, valueIs(12), '12 pending');
      const consumer = await js.consumers.get(stream, 'workers');
      const taken = [];
      for (let i = 0; i < 5; i++) {
        const m = await consumer.next({ expires: 2000 });
        assert.ok(m);
        taken.push(m);
      }
      await readUntil(source, valueIs(12), '7 pending + 5 ack-pending');
      for (const m of taken) m.ack();
      await readUntil(source, valueIs(7), '7 pending once 5 are acknowledged');
    } finally {
      await source.close();
    }
  });

  test('rate: arrivals per second from the stream sequence', async () => {
    const stream = await newStream();
    const js = nc.jetstream();
    const ctx = fakeContext();
    const source = await createSource(
      { type: 'nats-jetstream', url: URL, stream, consumer: 'workers', rate: true },
      ctx,
    );
    try {
      const first = await source.read(readSignal());
      assert.ok(first.ok && first.reading.rate === undefined);
      for (let i = 0; i < 8; i++) await js.publish(`${stream}.jobs`, String(i));
      ctx.clock.advance(2000);
      const r = await source.read(readSignal());
      assert.deepEqual(r.ok && [r.reading.value, r.reading.rate], [8, 4]);
    } finally {
      await source.close();
    }
  });

  test('a missing stream or consumer is a clear runtime error', async () => {
    const stream = await newStream();
    const cases: [string, string, RegExp][] = [
      ['ms_test_no_such_stream', 'workers', /stream "ms_test_no_such_stream" not found$/],
      [stream, 'nobody', /consumer "nobody" not found on stream/],
    ];
    for (const [s, consumer, message] of cases) {
      const source = await createSource(
        { type: 'nats-jetstream', url: URL, stream: s, consumer },
        liveContext(),
      );
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
  connectionContract('nats-jetstream', {
    serverPort: 4222,
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'nats-jetstream',
          url: `nats://${password ? `user:${password}@` : ''}127.0.0.1:${port}`,
          stream: contractStream,
          consumer: 'workers',
        },
        ctx,
      ),
    healthy: (value) => value === 0,
  });
});
