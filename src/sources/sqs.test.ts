// Against a fake SQS (test/fakes/sqs-server.ts) that implements the documented JSON protocol: no real SQS
// can be reached from here. The messages are sent and received with the real AWS SDK.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { FakeSqs } from '../../test/fakes/sqs-server.js';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import { errorOf, liveContext, readSignal } from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { createSource } from './registry.js';
import { regionOf } from './sqs.js';

const KEYS = { accessKeyId: 'AKIATESTFAKE', secretAccessKey: 'fake-secret-Key/123' };

test('sqs: the region comes from an AWS queue URL', () => {
  const cases: [string, string | undefined][] = [
    ['https://sqs.eu-west-1.amazonaws.com/123/q', 'eu-west-1'],
    ['https://sqs.cn-north-1.amazonaws.com.cn/123/q', 'cn-north-1'],
    ['http://127.0.0.1:9324/123/q', undefined],
  ];
  for (const [url, region] of cases) assert.equal(regionOf(url), region, url);
});

test('sqs: bad settings are config errors that name the field', async () => {
  const saved = [process.env.AWS_REGION, process.env.AWS_DEFAULT_REGION];
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  try {
    const cases: [SourceSpec, string[]][] = [
      [{ type: 'sqs' }, ['source.queueUrl: expected a https:// or http:// URL']],
      [
        { type: 'sqs', queueUrl: 'https://h/1/q', accessKeyId: 'x' },
        ['source.secretAccessKey: accessKeyId and secretAccessKey go together'],
      ],
      [
        { type: 'sqs', queueUrl: 'http://127.0.0.1:1/1/q' },
        ['source.region: required: it cannot be read from queueUrl, and AWS_REGION is not set'],
      ],
      [
        { type: 'sqs', queueUrl: 'https://h/1/q', region: 'us-east-1', inFlight: 'no' },
        ['source.inFlight: expected boolean, received string'],
      ],
    ];
    for (const [spec, problems] of cases) {
      await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.deepEqual(error.problems, problems);
        return true;
      });
    }
  } finally {
    if (saved[0] !== undefined) process.env.AWS_REGION = saved[0];
    if (saved[1] !== undefined) process.env.AWS_DEFAULT_REGION = saved[1];
  }
});

describe('sqs against a fake SQS endpoint', () => {
  let fake: FakeSqs;
  let sqs: SQSClient;
  before(async () => {
    fake = await FakeSqs.start();
    sqs = new SQSClient({ region: 'us-east-1', endpoint: fake.url, credentials: { ...KEYS } }); // the SDK marks the object it is given
  });
  after(async () => {
    sqs.destroy();
    await fake.stop();
  });

  const spec = (queueUrl: string, extra: Record<string, unknown> = {}): SourceSpec => ({
    type: 'sqs',
    queueUrl,
    region: 'us-east-1',
    ...KEYS,
    ...extra,
  });

  test('the value tracks visible + in-flight messages as they are sent, received and deleted', async () => {
    const queueUrl = fake.createQueue('jobs');
    const source = await createSource(spec(queueUrl), liveContext());
    const onlyVisible = await createSource(spec(queueUrl, { inFlight: false }), liveContext());
    const value = async (s = source) => {
      const r = await s.read(readSignal());
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.reading.rate, undefined);
      return r.reading.value;
    };
    try {
      assert.equal(await value(), 0);
      for (let i = 0; i < 6; i++)
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `job ${i}` }));
      assert.equal(await value(), 6);
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 4 }));
      assert.equal(got.Messages?.length, 4);
      assert.equal(await value(), 6, '2 visible + 4 in flight');
      assert.equal(await value(onlyVisible), 2, 'inFlight: false counts visible ones only');
      for (const m of got.Messages ?? []) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
      assert.equal(await value(), 2);
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 60 }));
      assert.equal(await value(), 2, 'delayed messages do not count by default');
      const withDelayed = await createSource(spec(queueUrl, { delayed: true }), liveContext());
      assert.equal(await value(withDelayed), 3);
      await withDelayed.close();
      assert.equal(fake.accessKeys.at(-1), KEYS.accessKeyId, 'requests are signed with the configured key');
    } finally {
      await source.close();
      await onlyVisible.close();
    }
  });

  test('a missing queue and a failing endpoint are clear errors that hide the secret key', async () => {
    const missing = await createSource(spec(`${fake.url}/123456789012/nope`), liveContext());
    try {
      assert.match(
        errorOf(await missing.read(readSignal())),
        /^sqs http:\/\/127\.0\.0\.1:\d+\/123456789012\/nope: queue does not exist$/,
      );
      fake.failWith = 500;
      const error = errorOf(await missing.read(readSignal()));
      assert.match(error, /InternalError: fake failure/);
      assert.ok(!error.includes(KEYS.secretAccessKey));
    } finally {
      fake.failWith = undefined;
      await missing.close();
    }
  });

  connectionContract('sqs', {
    get serverPort() {
      return Number(new URL(fake.url).port);
    },
    build: (port, ctx, password) => {
      fake.createQueue('contract');
      return createSource(
        {
          type: 'sqs',
          queueUrl: `http://127.0.0.1:${port}/123456789012/contract`,
          region: 'us-east-1',
          accessKeyId: KEYS.accessKeyId,
          secretAccessKey: password ?? KEYS.secretAccessKey,
        },
        ctx,
      );
    },
    healthy: (value) => value === 0,
  });
});
