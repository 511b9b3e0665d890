import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { isPushSource } from './push.js';
import { createSource, sourceSchemas } from './registry.js';

const signal = new AbortController().signal;
const KNOWN =
  'random, trace, static, push, redis-list, redis-stream, rabbitmq, nats-jetstream, postgres, prometheus, http, sqs';

test('sourceSchemas lists every kind, without `type`', () => {
  assert.deepEqual(Object.keys(sourceSchemas), [
    'random',
    'trace',
    'static',
    'push',
    'redis-list',
    'redis-stream',
    'rabbitmq',
    'nats-jetstream',
    'postgres',
    'prometheus',
    'http',
    'sqs',
  ]);
  for (const schema of Object.values(sourceSchemas)) assert.equal('type' in schema.shape, false);
});

test('createSource builds each kind from its spec', async () => {
  const cases: [SourceSpec, number][] = [
    [{ type: 'random', seed: 3, every: '1s' }, 50],
    [{ type: 'static', value: 12 }, 12],
    [{ type: 'trace', file: 'two-services.csv', service: 'a' }, 10],
  ];
  for (const [spec, value] of cases) {
    const ctx = fakeContext();
    const source = await createSource(spec, ctx);
    assert.deepEqual(await source.read(signal), {
      ok: true,
      reading: { value, at: ctx.clock.now(), ...(spec.type === 'trace' ? { rate: 1 } : {}) },
    });
    await source.close();
  }
  const push = await createSource({ type: 'push', maxAge: '10s' }, fakeContext());
  assert.ok(isPushSource(push));
  push.push(4);
  assert.equal((await push.read(signal)).ok, true);
});

test('createSource reports problems as `source.<field>: problem` lines', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'kafka' }, [`source.type: unknown source "kafka" (known: ${KNOWN})`]],
    [{ type: 'toString' }, [`source.type: unknown source "toString" (known: ${KNOWN})`]],
    [{ type: 'static' }, ['source.value: required']],
    [{ type: 'static', value: -1 }, ['source.value: must be ≥ 0']],
    [{ type: 'static', value: 'ten' }, ['source.value: expected number, received string']],
    [
      { type: 'static', value: 1, vlaue: 2, extra: true },
      ['source.vlaue: unknown setting (known: value)', 'source.extra: unknown setting (known: value)'],
    ],
    [{ type: 'random', min: 10, max: 5 }, ['source.max: must be ≥ min (10)']],
    [{ type: 'random', step: 2.5 }, ['source.step: must be an integer']],
    [
      { type: 'random', every: 'often' },
      ['source.every: invalid duration "often" (use e.g. 100ms, 3s, 5m, or a number of ms)'],
    ],
    [{ type: 'push', maxAge: '0s' }, ['source.maxAge: must be longer than 0']],
    [{ type: 'trace' }, ['source.file: required']],
    [{ type: 'trace', file: 'no-such.csv' }, []], // checked below: the message holds the absolute path
  ];
  for (const [spec, problems] of cases) {
    await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
      assert.ok(error instanceof ConfigError, `${spec.type}: ${String(error)}`);
      if (problems.length) assert.deepEqual(error.problems, problems);
      else assert.match(error.problems[0] ?? '', /^source\.file: cannot read /);
      return true;
    });
  }
});
