// The config loader checks source and scheduler settings against the registries' schemas.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { problemsOf, web } from '../../test/fixtures/config/parse.js';
import { parseConfig } from './load.js';

describe('source and scheduler settings, checked by the registries’ schemas', () => {
  const sourceSchemas = {
    push: z.strictObject({ maxAge: z.string().optional() }),
    'redis-list': z.strictObject({ url: z.string(), key: z.string(), count: z.number().int().default(1) }),
  };
  const schedulerSchemas = {
    process: z.strictObject({ stateDir: z.string().optional() }),
    docker: z.strictObject({ socket: z.string().optional() }),
  };
  const options = { sourceSchemas, schedulerSchemas };
  const source = (settings: string, scheduler = '{ type: process }') =>
    web(
      `{ demand: { source: ${settings}, rule: { type: target, perReplica: 1 } } }`,
      `capacity: { replicas: 1 }\nscheduler: ${scheduler}`,
    );

  test('valid settings pass through untouched (no defaults added)', () => {
    const config = parseConfig(
      source('{ type: redis-list, url: "redis://x", key: jobs }', '{ type: docker, socket: /s }'),
      {
        env: {},
        ...options,
      },
    );
    assert.deepStrictEqual(config.services[0]?.source, { type: 'redis-list', url: 'redis://x', key: 'jobs' });
    assert.deepStrictEqual(config.scheduler, { type: 'docker', socket: '/s' });
  });

  const cases: Array<[string, string, string[]]> = [
    [
      'unknown source type',
      source('{ type: kafka }'),
      ['services.web.demand.source.type: must be one of push, redis-list'],
    ],
    [
      'missing setting',
      source('{ type: redis-list, url: "redis://x" }'),
      ['services.web.demand.source.key: required'],
    ],
    [
      'wrong setting',
      source('{ type: redis-list, url: 1, key: k, count: 1.5 }'),
      [
        'services.web.demand.source.url: must be a string, got 1 (quote it)',
        'services.web.demand.source.count: must be an integer, got 1.5',
      ],
    ],
    [
      'unknown setting',
      source('{ type: push, maxAge: 1s, bogus: 1 }'),
      ['services.web.demand.source.bogus: unknown key'],
    ],
    [
      'unknown scheduler type',
      source('{ type: push }', '{ type: nomad }'),
      ['scheduler.type: must be one of docker, process'],
    ],
    ['default scheduler type', source('{ type: push }', '{ socket: /s }'), ['scheduler.socket: unknown key']],
    [
      'wrong scheduler setting',
      source('{ type: push }', '{ type: docker, socket: 2 }'),
      ['scheduler.socket: must be a string, got 2 (quote it)'],
    ],
  ];
  for (const [what, text, problems] of cases) {
    test(what, () => assert.deepStrictEqual(problemsOf(text, options), problems));
  }

  test('without schemas, any settings pass', () => {
    assert.equal(
      parseConfig(source('{ type: kafka, anything: [1] }', '{ type: nomad, x: 1 }'), { env: {} }).scheduler
        .type,
      'nomad',
    );
  });
});
