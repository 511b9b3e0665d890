import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../core/errors.js';
import { parseConfig } from './load.js';

const base = `
name: shop
capacity: { replicas: 4 }
services:
  web: { demand: { rule: { type: fixed, replicas: 1 } } }
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseConfig(text, { env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('accepted');
}

test('ha: absent by default; defaults for key and ttl', () => {
  assert.equal(parseConfig(base, { env: {} }).ha, undefined);
  assert.deepEqual(parseConfig(`${base}ha: { redis: "redis://127.0.0.1:6379" }\n`, { env: {} }).ha, {
    redis: 'redis://127.0.0.1:6379',
    key: 'microscaler:shop:leader',
    ttlMs: 3000,
  });
  assert.deepEqual(
    parseConfig(`${base}ha: { redis: "rediss://r:6380/1", key: k, ttl: 900ms }\n`, { env: {} }).ha,
    { redis: 'rediss://r:6380/1', key: 'k', ttlMs: 900 },
  );
});

test('ha: every mistake is one config error line naming the field', () => {
  assert.deepEqual(problemsOf(`${base}ha: { redis: "http://x", ttl: 10ms, key: "", lease: 1 }\n`), [
    'ha.redis: must be a redis:// or rediss:// URL, got "http://x"',
    'ha.key: must not be empty',
    'ha.ttl: must be at least 300ms, got "10ms"',
    'ha.lease: unknown key',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: { ttl: soon }\n`), [
    'ha.redis: required',
    'ha.ttl: must be a duration like 100ms, 2s or 5m, got "soon"',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: redis\n`), ['ha: must be a map, got "redis"']);
});
