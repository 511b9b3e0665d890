import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../core/errors.js';
import { parseConfig } from './load.js';

const config = (pull?: string) => `
capacity: { replicas: 4 }
services:
  web:
    run: { image: local/web:1${pull === undefined ? '' : `, pull: ${pull}`} }
    demand: { rule: { type: fixed, replicas: 1 } }
`;

test('run.pull: always, missing or never; missing by default', () => {
  for (const pull of ['always', 'missing', 'never'] as const) {
    assert.equal(parseConfig(config(pull)).services[0]?.run.pull, pull);
  }
  assert.equal(parseConfig(config()).services[0]?.run.pull, 'missing');
});

test('run.pull: anything else is a problem on its path', () => {
  assert.throws(
    () => parseConfig(config('sometimes')),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.length === 1 &&
      /^services\.web\.run\.pull: .*always.*missing.*never/.test(error.problems[0] ?? ''),
  );
});
