import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
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
import { vhostOf } from './rabbitmq.js';
import { createSource } from './registry.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const MANAGEMENT = 'http://127.0.0.1:15672';
const skip = await serverGate('RabbitMQ', 5672);
// The management plugin is enabled by .ci/setup-rabbitmq.sh.
const skipManagement = skip || (await serverGate('RabbitMQ management API', 15672));

test('rabbitmq: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'rabbitmq', url: URL }, ['source.queue: expected a non-empty string']],
    [
      { type: 'rabbitmq', url: 'redis://127.0.0.1', queue: 'q' },
      ['source.url: must be a amqp:// or amqps:// URL with a host'],
    ],
    [
      { type: 'rabbitmq', url: URL, queue: 'q', rate: true },
      ['source.rate: needs `management` (AMQP has no count of messages published)'],
    ],
    [
      { type: 'rabbitmq', url: URL, queue: 'q', management: 'ftp://x' },
      ['source.management: must be a http:// or https:// URL with a host'],
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

test('rabbitmq: the vhost comes from the URL path', () => {
  const cases: [string, string][] = [
    ['amqp://h', '/'],
    ['amqp://h/', '/'],
    ['amqp://h/prod', 'prod'],
    ['amqp://h/%2Fteam', '/team'],
  ];
  for (const [url, vhost] of cases) assert.equal(vhostOf(url), vhost, url);
});

describe('rabbitmq against RabbitMQ', { skip }, () => {
  let conn: ChannelModel;
  let ch: Channel;
  const queues: string[] = [];
  const newQueue = async () => {
    const q = uniqueName('ms-test');
    queues.push(q);
    await ch.assertQueue(q, { durable: false });
    return q;
  };
  before(async () => {
    conn = await connect(URL);
    ch = await conn.createChannel();
  });
  after(async () => {
    for (const q of queues) await ch.deleteQueue(q);
    await conn.close();
  });

  test('AMQP: the value is the ready messages, as they are published and consumed', async () => {
    const queue = await newQueue();
    const source = await createSource({ type: 'rabbitmq', url: URL, queue }, liveContext());
    try {
      await readUntil(source, valueIs(0), 'empty queue');
      for (let i = 0; i < 25; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
      await readUntil(source, valueIs(25), '25 published');
      const taken = [];
      for (let i = 0; i < 10; i++) {
        const m = await ch.get(queue, { noAck: false });
        assert.ok(m);
        taken.push(m);
      }
      await readUntil(source, valueIs(15), '10 taken (unacknowledged ones are not ready)');
      for (const m of taken) ch.ack(m);
      await ch.purgeQueue(queue);
      await readUntil(source, valueIs(0), 'purged');
    } finally {
      await source.close();
    }
  });

  test('AMQP: a missing queue is a clear error, and the source still works for a queue that appears', async () => {
    const queue = uniqueName('ms-test-missing');
    const source = await createSource({ type: 'rabbitmq', url: URL, queue }, liveContext());
    try {
      for (let i = 0; i < 2; i++) {
        assert.match(
          errorOf(await source.read(readSignal())),
          /queue "ms-test-missing.*": queue not found in vhost "\/"/,
        );
      }
      queues.push(queue);
      await ch.assertQueue(queue, { durable: false });
      // The 404 closed the channel: the next read opens another on the same connection.
      await readUntil(source, valueIs(0), 'the queue once it exists');
    } finally {
      await source.close();
    }
  });

  test('management API: ready + unacknowledged, and a rate from the publish counter', {
    skip: skipManagement,
  }, async () => {
    const queue = await newQueue();
    const ctx = fakeContext();
    const source = await createSource(
      { type: 'rabbitmq', url: URL, queue, management: MANAGEMENT, rate: true, rateWindow: '1h' },
      ctx,
    );
    try {
      // RabbitMQ publishes queue statistics every 5 s (collect_statistics_interval): long deadlines.
      const first = await readUntil(source, valueIs(0), 'statistics for the new queue', 15_000);
      const start = ctx.clock.now();
      assert.ok(first.ok && first.reading.rate === undefined);
      for (let i = 0; i < 20; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
      for (let i = 0; i < 5; i++) assert.ok(await ch.get(queue, { noAck: false }));
      // Statistics arrive in rounds, and not every figure in the same round: wait for both to move.
      const seen = await readUntil(
        source,
        (r) => {
          ctx.clock.advance(1000);
          return r.ok && r.reading.value === 20 && (r.reading.rate ?? 0) > 0;
        },
        '15 ready + 5 unacknowledged, and a publish rate',
        20_000,
      );
      // The rate is the publish counter's growth since the first reading: at most the 20 published.
      assert.ok(seen.ok && seen.reading.rate !== undefined);
      const counted = (seen.reading.rate * (seen.reading.at - start)) / 1000;
      assert.ok(counted > 0 && counted <= 20 + 1e-9, `counter grew by ${counted}`);
    } finally {
      await source.close();
    }
  });

  test('management API: a missing queue and refused credentials are clear errors', {
    skip: skipManagement,
  }, async () => {
    const cases: [string, RegExp][] = [
      [URL, /queue not found in vhost "\/" \(management API: 404\)/],
      ['amqp://guest:wrong-Passw0rd@127.0.0.1:5672', /management API refused the credentials \(401\)/],
    ];
    for (const [url, message] of cases) {
      const source = await createSource(
        { type: 'rabbitmq', url, queue: uniqueName('ms-test-missing'), management: MANAGEMENT },
        liveContext(),
      );
      try {
        const error = errorOf(await source.read(readSignal()));
        assert.match(error, message);
        assert.ok(!error.includes('wrong-Passw0rd'));
      } finally {
        await source.close();
      }
    }
  });

  let contractQueue = '';
  before(async () => {
    contractQueue = await newQueue();
  });
  connectionContract('rabbitmq', {
    serverPort: 5672,
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'rabbitmq',
          url: `amqp://guest:${password ?? 'guest'}@127.0.0.1:${port}`,
          queue: contractQueue,
        },
        ctx,
      ),
    healthy: (value) => value === 0,
  });
});
