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

const ha = (yaml: string) => parseConfig(`${base}ha: ${yaml}\n`, { env: {} }).ha;

test('ha: absent by default; defaults for key and ttl', () => {
  assert.equal(parseConfig(base, { env: {} }).ha, undefined);
  assert.deepEqual(ha('{ redis: "redis://127.0.0.1:6379" }'), {
    store: { type: 'redis', url: 'redis://127.0.0.1:6379' },
    key: 'microscaler:shop:leader',
    ttlMs: 3000,
  });
  assert.deepEqual(ha('{ redis: "rediss://r:6380/1", key: k, ttl: 900ms }'), {
    store: { type: 'redis', url: 'rediss://r:6380/1' },
    key: 'k',
    ttlMs: 900,
  });
});

test('ha: a PostgreSQL lease', () => {
  assert.deepEqual(ha('{ postgres: "postgres://u@db:5432/app", ttl: 2s }'), {
    store: { type: 'postgres', url: 'postgres://u@db:5432/app' },
    key: 'microscaler:shop:leader',
    ttlMs: 2000,
  });
  assert.equal(ha('{ postgres: "postgresql://db/app" }')?.store.type, 'postgres');
});

test('ha: a Kubernetes Lease; the name is a valid object name and the ttl whole seconds', () => {
  assert.deepEqual(ha('{ kubernetes: true }'), {
    store: { type: 'kubernetes' },
    key: 'microscaler-shop-leader',
    ttlMs: 3000,
  });
  assert.deepEqual(ha('{ kubernetes: { namespace: ops, context: prod }, key: shop-leader, ttl: 1500ms }'), {
    store: { type: 'kubernetes', namespace: 'ops', context: 'prod' },
    key: 'shop-leader',
    ttlMs: 2000,
  });
  // An instance name with capitals or "_" still makes a valid Lease name.
  const odd = parseConfig(`${base.replace('name: shop', 'name: My_Shop.1')}ha: { kubernetes: {} }\n`, {
    env: {},
  });
  assert.equal(odd.ha?.key, 'microscaler-my-shop-1-leader');
});

test('ha: every mistake is one config error line naming the field', () => {
  assert.deepEqual(problemsOf(`${base}ha: { redis: "http://x", ttl: 10ms, key: "", lease: 1 }\n`), [
    'ha.redis: must be a redis:// or rediss:// URL, got "http://x"',
    'ha.key: must not be empty',
    'ha.ttl: must be at least 300ms, got "10ms"',
    'ha.lease: unknown key',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: { postgres: "mysql://x" }\n`), [
    'ha.postgres: must be a postgres:// or postgresql:// URL, got "mysql://x"',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: { kubernetes: false }\n`), [
    'ha.kubernetes: must be true or a map, got false',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: { kubernetes: { namespaces: x } }\n`), [
    'ha.kubernetes.namespaces: unknown key',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: { kubernetes: true, key: "microscaler:shop" }\n`), [
    'ha.key: must be a Kubernetes object name (lower-case letters, digits, "-" and "."), got "microscaler:shop"',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: redis\n`), ['ha: must be a map, got "redis"']);
});

test('ha: exactly one lease store', () => {
  assert.deepEqual(problemsOf(`${base}ha: { ttl: 2s }\n`), [
    'ha: needs one lease store: redis, postgres or kubernetes',
  ]);
  assert.deepEqual(problemsOf(`${base}ha: { redis: "redis://r", postgres: "postgres://p" }\n`), [
    'ha: give one lease store, not redis and postgres',
  ]);
  assert.deepEqual(
    problemsOf(`${base}ha: { redis: "redis://r", kubernetes: true, postgres: "postgres://p" }\n`),
    ['ha: give one lease store, not redis and postgres and kubernetes'],
  );
});
