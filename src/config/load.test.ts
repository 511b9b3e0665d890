// The config loader reads good configs: the DESIGN.md example, defaults, every field, paths, logs, JSON and YAML merge keys.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FIXTURES, problemsOf, REMAINDER, web } from '../../test/fixtures/config/parse.js';
import type { Config } from '../core/types.js';
import { loadConfig, type ParseOptions, parseConfig } from './load.js';
import { configSchema } from './schema.js';

const DESIGN_EXAMPLE: Config = {
  name: 'shop',
  capacity: { replicas: 20, cpu: 8, memory: 16 * 2 ** 30 },
  intervalMs: 100,
  readTimeoutMs: 1000,
  scheduler: { type: 'docker' },
  services: [
    {
      name: 'web',
      priority: 1,
      min: 1,
      max: 18,
      rule: { type: 'target', perReplica: 10, activation: 0 },
      resources: { cpu: 0.25, memory: 64 * 2 ** 20 },
      scaleDownWindowMs: 2000,
      run: {
        image: 'local/busybox:1',
        command: ['sleep', '3600'],
        cpu: 0.25,
        memory: 64 * 2 ** 20,
        pull: 'missing',
        stopGraceMs: 5000,
      },
      source: { type: 'redis-list', url: 'redis://127.0.0.1:6379', key: 'jobs' },
    },
    {
      name: 'batch',
      priority: 2,
      min: 0,
      max: 20,
      rule: { type: 'remainder' },
      resources: { cpu: 0, memory: 0 },
      scaleDownWindowMs: 2000,
      run: { image: 'local/busybox:1', command: ['sleep', '3600'], stopGraceMs: 5000, pull: 'missing' },
    },
  ],
  api: {},
};

describe('good configs', () => {
  test('without name: the instance is named after the file, so two configs are two instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-name-'));
    const body = 'capacity: { replicas: 2 }\nservices:\n  w: { demand: { rule: { type: remainder } } }\n';
    const named = async (file: string, text = body) => {
      writeFileSync(join(dir, file), text);
      return (await loadConfig(join(dir, file), {})).name;
    };
    assert.equal(await named('shop.yaml'), 'shop');
    assert.equal(await named('other.yml'), 'other');
    assert.equal(
      await named(
        'Shop Prod.v2.json',
        '{"capacity":{"replicas":2},"services":{"w":{"demand":{"rule":{"type":"remainder"}}}}}',
      ),
      'shop-prod.v2',
    );
    assert.equal(await named('microscaler.yaml'), 'microscaler');
    assert.equal(await named('__.yaml'), 'microscaler');
    assert.equal(await named(`${'x'.repeat(80)}.yaml`), 'x'.repeat(63));
    // An explicit name wins; a built-in config (no file) keeps "microscaler".
    assert.equal(await named('a.yaml', `name: shop\n${body}`), 'shop');
    assert.equal(parseConfig(body, { env: {}, file: 'demo.yaml' }).name, 'microscaler');
  });

  test('the DESIGN.md example (YAML)', async () => {
    assert.deepStrictEqual(await loadConfig(join(FIXTURES, 'design-example.yaml'), {}), DESIGN_EXAMPLE);
  });

  test('the DESIGN.md example as JSON, tab-indented', async () => {
    assert.deepStrictEqual(await loadConfig(join(FIXTURES, 'design-example.json'), {}), DESIGN_EXAMPLE);
  });

  test('the whole-file schema accepts the example too', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const raw = parse(readFileSync(join(FIXTURES, 'design-example.yaml'), 'utf8'));
    assert.equal(configSchema.safeParse(raw).success, true);
  });

  test('a minimal config gets every default', async () => {
    assert.deepStrictEqual(await loadConfig(join(FIXTURES, 'minimal.yaml'), {}), {
      name: 'minimal',
      capacity: { replicas: 4 },
      intervalMs: 100,
      readTimeoutMs: 1000,
      scheduler: { type: 'process' },
      services: [
        {
          name: 'worker',
          priority: 1,
          min: 0,
          max: 4,
          rule: { type: 'remainder' },
          resources: { cpu: 0, memory: 0 },
          scaleDownWindowMs: 2000,
          run: { stopGraceMs: 5000, pull: 'missing' },
        },
      ],
      api: {},
    } satisfies Config);
  });

  test('every field set; services sorted by priority, then name', () => {
    const text = `
name: Shop.eu-1
capacity: { replicas: 8, cpu: 4.5, memory: 8G }
interval: 50ms
readTimeout: 1.5s
scheduler: { type: kubernetes, namespace: shop, nested: { any: [thing] } }
api: { token: s3cret }
services:
  zeta:
    priority: 2
    run: { workload: zeta, cpu: 1, memory: 1Gi }
    demand: { rule: { type: fixed, replicas: 2 } }
  alpha:
    priority: 2
    min: 1
    max: 3
    scaleDownWindow: 0
    run: { command: [./worker, --fast], env: { MODE: fast, EMPTY: "" }, cwd: jobs, cpu: 0.5, memory: 512Mi, stopGrace: 10s }
    demand:
      source: { type: rabbitmq, url: "amqp://mq", queue: jobs }
      rule: { type: queue, perReplicaRate: 2.5 }
  api:
    priority: 1
    max: 100
    scaleDownWindow: 1m30s
    run: { image: shop/api:2, cpu: 0.25, memory: 64Mi, stopGrace: 0 }
    demand:
      source: { type: http, url: "http://metrics/load", path: load.value }
      rule: { type: target, perReplica: 10, activation: 0.5 }
`;
    const expected: Config = {
      name: 'Shop.eu-1',
      capacity: { replicas: 8, cpu: 4.5, memory: 8e9 },
      intervalMs: 50,
      readTimeoutMs: 1500,
      scheduler: { type: 'kubernetes', namespace: 'shop', nested: { any: ['thing'] } },
      services: [
        {
          name: 'api',
          priority: 1,
          min: 0,
          max: 100,
          rule: { type: 'target', perReplica: 10, activation: 0.5 },
          resources: { cpu: 0.25, memory: 64 * 2 ** 20 },
          scaleDownWindowMs: 90_000,
          run: { image: 'shop/api:2', cpu: 0.25, memory: 64 * 2 ** 20, stopGraceMs: 0, pull: 'missing' },
          source: { type: 'http', url: 'http://metrics/load', path: 'load.value' },
        },
        {
          name: 'alpha',
          priority: 2,
          min: 1,
          max: 3,
          rule: { type: 'queue', perReplicaRate: 2.5, drainSeconds: 10 },
          resources: { cpu: 0.5, memory: 512 * 2 ** 20 },
          scaleDownWindowMs: 0,
          run: {
            command: ['./worker', '--fast'],
            env: { MODE: 'fast', EMPTY: '' },
            cwd: '/srv/shop/jobs',
            cpu: 0.5,
            memory: 512 * 2 ** 20,
            pull: 'missing',
            stopGraceMs: 10_000,
          },
          source: { type: 'rabbitmq', url: 'amqp://mq', queue: 'jobs' },
        },
        {
          name: 'zeta',
          priority: 2,
          min: 0,
          max: 8,
          rule: { type: 'fixed', replicas: 2 },
          resources: { cpu: 1, memory: 2 ** 30 },
          scaleDownWindowMs: 2000,
          run: { workload: 'zeta', cpu: 1, memory: 2 ** 30, stopGraceMs: 5000, pull: 'missing' },
        },
      ],
      api: { token: 's3cret' },
    };
    assert.deepStrictEqual(parseConfig(text, { baseDir: '/srv/shop', env: {} }), expected);
  });

  test('max may exceed capacity.replicas', () => {
    const config = parseConfig(web(`{ max: 50, ${REMAINDER} }`), { env: {} });
    assert.equal(config.services[0]?.max, 50);
  });

  test('run.cpu and run.memory may be left out when capacity counts them (reserving 0)', () => {
    const config = parseConfig(web(`{ ${REMAINDER} }`, 'capacity: { replicas: 2, cpu: 2, memory: 1Gi }'), {
      env: {},
    });
    assert.deepStrictEqual(config.services[0]?.resources, { cpu: 0, memory: 0 });
  });

  test('run.cwd: relative to baseDir, else to the file, else as written; absolute stays', () => {
    const body = (cwd: string) => web(`{ run: { cwd: ${cwd} }, ${REMAINDER} }`);
    const cwdOf = (text: string, options: ParseOptions) =>
      parseConfig(text, { env: {}, ...options }).services[0]?.run.cwd;
    assert.equal(cwdOf(body('work'), { baseDir: '/a' }), '/a/work');
    assert.equal(cwdOf(body('work'), { file: '/etc/ms/config.yaml' }), '/etc/ms/work');
    assert.equal(cwdOf(body('work'), {}), 'work');
    assert.equal(cwdOf(body('/abs'), { baseDir: '/a' }), '/abs');
  });

  test('run.command: a relative program path of a process replica resolves like run.cwd', () => {
    const body = (run: string, scheduler = '') =>
      `${scheduler}capacity: { replicas: 2 }\nservices: { web: { run: ${run}, ${REMAINDER} } }`;
    const commandOf = (text: string, options: ParseOptions) =>
      parseConfig(text, { env: {}, ...options }).services[0]?.run.command;
    const file = { file: '/etc/ms/config.yaml' };
    assert.deepEqual(commandOf(body('{ command: [./w.sh, a] }'), file), ['/etc/ms/w.sh', 'a']);
    assert.deepEqual(commandOf(body('{ command: [bin/w] }'), { baseDir: '/a' }), ['/a/bin/w']);
    // where it runs: the spawn looks for a relative program in its working folder
    assert.deepEqual(commandOf(body('{ command: [./w.sh], cwd: work }'), file), ['/etc/ms/work/w.sh']);
    assert.deepEqual(commandOf(body('{ command: [sleep, "1"] }'), file), ['sleep', '1'], 'PATH');
    assert.deepEqual(commandOf(body('{ command: [/bin/w] }'), file), ['/bin/w']);
    assert.deepEqual(commandOf(body('{ command: [./w.sh] }'), {}), ['./w.sh'], 'no folder known');
    // inside a container the config's folder means nothing
    const docker = 'scheduler: { type: docker }\n';
    assert.deepEqual(commandOf(body('{ command: [./w.sh] }', docker), file), ['./w.sh']);
  });

  test('run.logs: the defaults fill what is left out; retention in ms', () => {
    const logsOf = (logs: string) =>
      parseConfig(web(`{ run: { logs: ${logs} }, ${REMAINDER} }`), { env: {} }).services[0]?.run.logs;
    assert.deepEqual(logsOf('{}'), {
      maxSize: 10 * 2 ** 20,
      keep: 2,
      retentionMs: 600_000,
      keepStopped: 10,
    });
    assert.deepEqual(logsOf('{ maxSize: 1Mi, keep: 0, retention: 30s, keepStopped: 3 }'), {
      maxSize: 2 ** 20,
      keep: 0,
      retentionMs: 30_000,
      keepStopped: 3,
    });
    const none = parseConfig(web(`{ ${REMAINDER} }`), { env: {} }).services[0]?.run;
    assert.equal(none?.logs, undefined, 'left out: the back-end applies the defaults');
  });

  test('a .json file is strict JSON, a .yaml file reads the same JSON text', () => {
    const text = JSON.stringify({
      capacity: { replicas: 2 },
      services: { web: { demand: { rule: { type: 'remainder' } } } },
    });
    const json = parseConfig(text, { file: 'x.json', env: {} });
    assert.deepStrictEqual(parseConfig(text, { file: 'x.yaml', env: {} }), json);
    assert.equal(json.services[0]?.name, 'web');
  });

  test('YAML merge keys: `<<: *anchor` merges an anchored map, keys written beside it win', () => {
    const text = `x-defaults: &defaults
  priority: 2
  max: 4
  run: { command: [sleep, "60"], stopGrace: 1s }
  demand: { rule: { type: remainder } }
capacity: { replicas: 10 }
services:
  a: { <<: *defaults, max: 3 }
  b:
    <<: *defaults
    priority: 3
  c: { <<: [*defaults], min: 1 }
`;
    const services = parseConfig(text, { env: {} }).services;
    assert.deepStrictEqual(
      services.map((s) => [s.name, s.priority, s.min, s.max, s.run.command, s.run.stopGraceMs]),
      [
        ['a', 2, 0, 3, ['sleep', '60'], 1000],
        ['c', 2, 1, 4, ['sleep', '60'], 1000],
        ['b', 3, 0, 4, ['sleep', '60'], 1000],
      ],
    );
  });

  test('a merge key where there is no merging says so', () => {
    const json = JSON.stringify({
      capacity: { replicas: 1, '<<': {} },
      services: { web: { demand: { rule: { type: 'remainder' } } } },
    });
    assert.deepStrictEqual(problemsOf(json, { file: 'x.json' }), [
      'capacity."<<": unknown key (merge keys work in YAML files only, and only unquoted: <<: *name)',
    ]);
    assert.deepStrictEqual(problemsOf(web(`{ "<<": { min: 1 }, ${REMAINDER} }`)), [
      'services.web."<<": unknown key (merge keys work in YAML files only, and only unquoted: <<: *name)',
    ]);
  });

  test('a merge source that is not a map is one problem line', () => {
    assert.deepStrictEqual(problemsOf(web(`{ <<: 3, ${REMAINDER} }`)), [
      'config: Merge sources must be maps or map aliases',
    ]);
  });

  test('.json files are strict JSON: trailing commas, comments and single quotes are refused with line and column', () => {
    const good =
      '{\n  "capacity": {"replicas": 2},\n  "services": {"web": {"demand": {"rule": {"type": "remainder"}}}}\n}';
    assert.equal(parseConfig(good, { file: 'x.json', env: {} }).services.length, 1);
    const cases: Array<[string, string]> = [
      [
        good.replace('}}}}\n}', '}}}},\n}'),
        'config: line 4, column 1: not valid JSON: Expected double-quoted property name',
      ],
      [
        good.replace('"replicas": 2', '"replicas": 2,'),
        'config: line 2, column 30: not valid JSON: Expected double-quoted property name',
      ],
      [
        good.replace('"capacity"', "'capacity'"),
        "config: line 2, column 3: not valid JSON: Expected property name or '}'",
      ],
      [
        `${good}\n# a comment`,
        'config: line 5, column 1: not valid JSON: Unexpected non-whitespace character after JSON',
      ],
      [`# a comment\n${good}`, "config: line 1, column 1: not valid JSON: Unexpected token '#'"],
    ];
    for (const [text, problem] of cases) {
      assert.deepStrictEqual(problemsOf(text, { file: 'x.json' }), [problem], text);
      // YAML takes all of these: this is what the .json parser used to accept.
      assert.equal(parseConfig(text, { file: 'x.yaml', env: {} }).services.length, 1, text);
    }
  });

  test('a byte-order mark is ignored', () => {
    assert.equal(parseConfig(`\uFEFF${web(`{ ${REMAINDER} }`)}`, { env: {} }).services.length, 1);
  });
});
