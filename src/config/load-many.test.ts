// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config strings hold ${NAME} references, not templates
// The config loader reports every problem at once, and substitutes ${NAME} environment variables.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { problemsOf, REMAINDER, web } from '../../test/fixtures/config/parse.js';
import { parseConfig } from './load.js';

describe('many problems are all reported', () => {
  test('across sections and services, in document order', () => {
    const text = `
name: "bad name"
capacity: { replicas: 0, cpu: -2 }
interval: 1
extra: true
services:
  web:
    min: -1
    max: 2
    bogus: 1
    run: { command: [sleep, 10], memory: 64mb }
    demand: { rule: { type: target, perReplica: 0 } }
  Batch:
    min: 3
    max: 1
    demand: { source: { type: push }, rule: { type: remainder } }
  fixed:
    demand: { rule: { type: fixed, replicas: 2.5 } }
`;
    assert.deepStrictEqual(problemsOf(text), [
      'extra: unknown key',
      'name: must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit, got "bad name"',
      'capacity.replicas: must be an integer ≥ 1, got 0',
      'capacity.cpu: must be a number > 0, got -2',
      'interval: needs a unit, like 100ms or 2s, got 1',
      'services.web.min: must be an integer ≥ 0, got -1',
      'services.web.run.command.1: must be a string, got 10 (quote it)',
      'services.web.run.memory: must be a memory size like 64Mi or 2Gi, got "64mb"',
      'services.web.demand.rule.perReplica: must be a number > 0, got 0',
      'services.web.bogus: unknown key',
      'services.Batch: service names must be 1-63 lower-case letters, digits or "-", starting with a letter or digit',
      'services.Batch.min: must be ≤ max (1), got 3',
      'services.Batch.demand.source: not used by rule type remainder; remove it',
      'services.fixed.demand.rule.replicas: must be an integer ≥ 0, got 2.5',
    ]);
  });

  test('several YAML syntax errors, with positions', () => {
    const problems = problemsOf('a: [1, 2\nb: {x\nc: d: e\n');
    assert.ok(problems.length >= 2, problems.join('\n'));
    for (const p of problems) assert.match(p, /^config: line \d+, column \d+: \S/);
  });
});

describe('environment variables', () => {
  const text = `
name: \${INSTANCE}
capacity: { replicas: 2 }
api: { token: "\${TOKEN}" }
services:
  web:
    run: { command: [sh, -c, "echo $\${HOME} \${GREETING}"], env: { PASSWORD: "\${PASSWORD}" } }
    demand:
      source: { type: redis-list, url: "redis://:\${PASSWORD}@\${REDIS_HOST}:6379", key: jobs }
      rule: { type: target, perReplica: 5 }
`;
  const env = { INSTANCE: 'eu-1', TOKEN: 't0k', GREETING: 'hi', PASSWORD: 'p@ss', REDIS_HOST: 'cache' };

  test('replace ${NAME} in every string; $${ is a literal ${', () => {
    const config = parseConfig(text, { env });
    assert.equal(config.name, 'eu-1');
    assert.deepStrictEqual(config.api, { token: 't0k' });
    const [service] = config.services;
    assert.deepStrictEqual(service?.run.command, ['sh', '-c', 'echo ${HOME} hi']);
    assert.deepStrictEqual(service?.run.env, { PASSWORD: 'p@ss' });
    assert.deepStrictEqual(service?.source, {
      type: 'redis-list',
      url: 'redis://:p@ss@cache:6379',
      key: 'jobs',
    });
  });

  test('every unset variable is a problem at its path', () => {
    assert.deepStrictEqual(problemsOf(text, { env: { INSTANCE: 'eu-1', GREETING: 'hi' } }), [
      'api.token: environment variable TOKEN is not set',
      'services.web.run.env.PASSWORD: environment variable PASSWORD is not set',
      'services.web.demand.source.url: environment variable PASSWORD is not set',
      'services.web.demand.source.url: environment variable REDIS_HOST is not set',
    ]);
  });

  test('a substituted value is still checked', () => {
    assert.deepStrictEqual(
      problemsOf(web(`{ ${REMAINDER} }`, 'name: ${N}\ncapacity: { replicas: 1 }'), { env: { N: 'a b' } }),
      ['name: must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit, got "a b"'],
    );
  });

  test('process.env by default', () => {
    process.env.MICROSCALER_CONFIG_TEST_NAME = 'from-env';
    try {
      const text = web(
        `{ ${REMAINDER} }`,
        'name: ${MICROSCALER_CONFIG_TEST_NAME}\ncapacity: { replicas: 1 }',
      );
      assert.equal(parseConfig(text).name, 'from-env');
    } finally {
      delete process.env.MICROSCALER_CONFIG_TEST_NAME;
    }
  });
});
