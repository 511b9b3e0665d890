// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config strings hold ${NAME} references, not templates
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { Config } from '../core/types.js';
import { loadConfig, type ParseOptions, parseConfig } from './load.js';
import { configSchema } from './schema.js';

const FIXTURES = resolve(import.meta.dirname, '../../test/fixtures/config');

/** The problems parseConfig reports; fails the test if it accepts the text or throws anything else. */
function problemsOf(text: string, options: ParseOptions = {}): readonly string[] {
  try {
    parseConfig(text, { env: {}, ...options });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail(`accepted:\n${text}`);
}

/** A config with capacity 10 and one service `web` whose body is the given YAML flow map. */
function web(body: string, top = 'capacity: { replicas: 10 }'): string {
  return `${top}\nservices:\n  web: ${body}\n`;
}

const REMAINDER = 'demand: { rule: { type: remainder } }';

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

describe('bad configs: one problem each', () => {
  const cases: Array<[string, string, string]> = [
    // [what, config text, the problem]
    ['capacity missing', `services: { web: { ${REMAINDER} } }`, 'capacity: required'],
    ['capacity.replicas missing', web(`{ ${REMAINDER} }`, 'capacity: {}'), 'capacity.replicas: required'],
    [
      'capacity.replicas 0',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: 0 }'),
      'capacity.replicas: must be an integer ≥ 1, got 0',
    ],
    [
      'capacity.replicas fraction',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: 2.5 }'),
      'capacity.replicas: must be an integer ≥ 1, got 2.5',
    ],
    [
      'capacity.replicas string',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: "3" }'),
      'capacity.replicas: must be an integer ≥ 1, got "3"',
    ],
    [
      'capacity.cpu 0',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: 1, cpu: 0 }'),
      'capacity.cpu: must be a number > 0, got 0',
    ],
    [
      'capacity.memory bad',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: 1, memory: 16gb }'),
      'capacity.memory: must be a memory size like 64Mi or 2Gi, got "16gb"',
    ],
    [
      'capacity.memory 0',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: 1, memory: 0Mi }'),
      'capacity.memory: must be more than 0 bytes, got "0Mi"',
    ],
    [
      'run.logs.keep negative',
      web(`{ run: { logs: { keep: -1 } }, ${REMAINDER} }`),
      'services.web.run.logs.keep: must be an integer ≥ 0, got -1',
    ],
    [
      'run.logs.maxSize bad',
      web(`{ run: { logs: { maxSize: 10mb } }, ${REMAINDER} }`),
      'services.web.run.logs.maxSize: must be a memory size like 64Mi or 2Gi, got "10mb"',
    ],
    [
      'run.logs with another back-end',
      web(
        `{ run: { logs: { keep: 1 } }, ${REMAINDER} }`,
        'capacity: { replicas: 1 }\nscheduler: { type: docker }',
      ),
      'services.web.run.logs: only the process back-end writes replica logs (this config uses docker; set log limits there)',
    ],
    [
      'run.logs unknown key',
      web(`{ run: { logs: { size: 1Mi } }, ${REMAINDER} }`),
      'services.web.run.logs.size: unknown key',
    ],
    [
      'capacity unknown key',
      web(`{ ${REMAINDER} }`, 'capacity: { replicas: 1, gpus: 2 }'),
      'capacity.gpus: unknown key',
    ],
    ['capacity a number', web(`{ ${REMAINDER} }`, 'capacity: 20'), 'capacity: must be a map, got 20'],
    ['unknown top-level key', `${web(`{ ${REMAINDER} }`)}servces: {}\n`, 'servces: unknown key'],
    [
      'name unsafe',
      web(`{ ${REMAINDER} }`, 'name: my shop\ncapacity: { replicas: 1 }'),
      'name: must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit, got "my shop"',
    ],
    [
      'name a number',
      web(`{ ${REMAINDER} }`, 'name: 42\ncapacity: { replicas: 1 }'),
      'name: must be a string, got 42 (quote it)',
    ],
    [
      'interval too short',
      web(`{ ${REMAINDER} }`, 'interval: 5ms\ncapacity: { replicas: 1 }'),
      'interval: must be at least 10ms, got "5ms"',
    ],
    [
      'interval without unit',
      web(`{ ${REMAINDER} }`, 'interval: 100\ncapacity: { replicas: 1 }'),
      'interval: needs a unit, like 100ms or 2s, got 100',
    ],
    [
      'interval not a duration',
      web(`{ ${REMAINDER} }`, 'interval: fast\ncapacity: { replicas: 1 }'),
      'interval: must be a duration like 100ms, 2s or 5m, got "fast"',
    ],
    [
      'interval too long',
      web(`{ ${REMAINDER} }`, 'interval: 1000h\ncapacity: { replicas: 1 }'),
      'interval: must be at most 596h, got "1000h"',
    ],
    [
      'readTimeout zero',
      web(`{ ${REMAINDER} }`, 'readTimeout: 0s\ncapacity: { replicas: 1 }'),
      'readTimeout: must be at least 1ms, got "0s"',
    ],
    [
      'scheduler a list',
      web(`{ ${REMAINDER} }`, 'scheduler: [docker]\ncapacity: { replicas: 1 }'),
      'scheduler: must be a map, got a list',
    ],
    [
      'scheduler.type empty',
      web(`{ ${REMAINDER} }`, 'scheduler: { type: "" }\ncapacity: { replicas: 1 }'),
      'scheduler.type: must not be empty',
    ],
    [
      'api.token empty',
      web(`{ ${REMAINDER} }`, 'api: { token: "" }\ncapacity: { replicas: 1 }'),
      'api.token: must not be empty',
    ],
    [
      'api unknown key',
      web(`{ ${REMAINDER} }`, 'api: { listen: ":80" }\ncapacity: { replicas: 1 }'),
      'api.listen: unknown key',
    ],
    ['services missing', 'capacity: { replicas: 1 }', 'services: required'],
    ['services empty', 'capacity: { replicas: 1 }\nservices: {}', 'services: must have at least one service'],
    ['services a list', 'capacity: { replicas: 1 }\nservices: [web]', 'services: must be a map, got a list'],
    [
      'service empty',
      'capacity: { replicas: 1 }\nservices:\n  web:\n',
      'services.web: must be a map, got null',
    ],
    [
      'service name upper case',
      `capacity: { replicas: 1 }\nservices: { Web: { ${REMAINDER} } }`,
      'services.Web: service names must be 1-63 lower-case letters, digits or "-", starting with a letter or digit',
    ],
    [
      'service name underscore',
      `capacity: { replicas: 1 }\nservices: { my_web: { ${REMAINDER} } }`,
      'services.my_web: service names must be 1-63 lower-case letters, digits or "-", starting with a letter or digit',
    ],
    [
      'service name too long',
      `capacity: { replicas: 1 }\nservices: { ${'a'.repeat(64)}: { ${REMAINDER} } }`,
      `services.${'a'.repeat(64)}: service names must be 1-63 lower-case letters, digits or "-", starting with a letter or digit`,
    ],
    ['service unknown key', web(`{ bogus: 1, ${REMAINDER} }`), 'services.web.bogus: unknown key'],
    [
      'priority 0',
      web(`{ priority: 0, ${REMAINDER} }`),
      'services.web.priority: must be an integer ≥ 1, got 0',
    ],
    ['min negative', web(`{ min: -1, ${REMAINDER} }`), 'services.web.min: must be an integer ≥ 0, got -1'],
    ['max fraction', web(`{ max: 2.5, ${REMAINDER} }`), 'services.web.max: must be an integer ≥ 0, got 2.5'],
    ['min above max', web(`{ min: 5, max: 3, ${REMAINDER} }`), 'services.web.min: must be ≤ max (3), got 5'],
    [
      'min above the default max',
      web(`{ min: 11, ${REMAINDER} }`),
      'services.web.min: must be ≤ max, which defaults to capacity.replicas (10), got 11',
    ],
    [
      'scaleDownWindow without unit',
      web(`{ scaleDownWindow: 2, ${REMAINDER} }`),
      'services.web.scaleDownWindow: needs a unit, like 100ms or 2s, got 2',
    ],
    [
      'run a string',
      web(`{ run: "sleep 1", ${REMAINDER} }`),
      'services.web.run: must be a map, got "sleep 1"',
    ],
    [
      'run unknown key',
      web(`{ run: { commmand: [sleep] }, ${REMAINDER} }`),
      'services.web.run.commmand: unknown key',
    ],
    [
      'command a string',
      web(`{ run: { command: "sleep 1" }, ${REMAINDER} }`),
      'services.web.run.command: must be a list, got "sleep 1"',
    ],
    [
      'command empty',
      web(`{ run: { command: [] }, ${REMAINDER} }`),
      'services.web.run.command: must not be empty',
    ],
    [
      'command program empty',
      web(`{ run: { command: [""] }, ${REMAINDER} }`),
      'services.web.run.command.0: the program name must not be empty',
    ],
    [
      'command argument a number',
      web(`{ run: { command: [sleep, 3600] }, ${REMAINDER} }`),
      'services.web.run.command.1: must be a string, got 3600 (quote it)',
    ],
    [
      'env value a number',
      web(`{ run: { env: { PORT: 80 } }, ${REMAINDER} }`),
      'services.web.run.env.PORT: must be a string, got 80 (quote it)',
    ],
    [
      'env a list',
      web(`{ run: { env: [A=1] }, ${REMAINDER} }`),
      'services.web.run.env: must be a map, got a list',
    ],
    [
      'env name with =',
      web(`{ run: { env: { "A=B": x } }, ${REMAINDER} }`),
      'services.web.run.env."A=B": environment variable names must not be empty or contain "="',
    ],
    ['cwd empty', web(`{ run: { cwd: "" }, ${REMAINDER} }`), 'services.web.run.cwd: must not be empty'],
    [
      'run.cpu 0',
      web(`{ run: { cpu: 0 }, ${REMAINDER} }`),
      'services.web.run.cpu: must be a number > 0, got 0',
    ],
    [
      'run.memory milli',
      web(`{ run: { memory: 64m }, ${REMAINDER} }`),
      'services.web.run.memory: must be a memory size like 64Mi or 2Gi, got "64m"',
    ],
    [
      'stopGrace negative',
      web(`{ run: { stopGrace: -1s }, ${REMAINDER} }`),
      'services.web.run.stopGrace: must be a duration like 100ms, 2s or 5m, got "-1s"',
    ],
    ['demand missing', web('{ min: 1 }'), 'services.web.demand: required'],
    [
      'demand unknown key',
      web('{ demand: { rule: { type: remainder }, window: 1 } }'),
      'services.web.demand.window: unknown key',
    ],
    ['rule missing', web('{ demand: {} }'), 'services.web.demand.rule: required'],
    [
      'rule a string',
      web('{ demand: { rule: remainder } }'),
      'services.web.demand.rule: must be a map, got "remainder"',
    ],
    [
      'rule type missing',
      web('{ demand: { rule: { perReplica: 3 } } }'),
      'services.web.demand.rule.type: required',
    ],
    [
      'rule type unknown',
      web('{ demand: { rule: { type: percent } } }'),
      'services.web.demand.rule.type: must be one of target, queue, remainder, fixed',
    ],
    [
      'rule unknown key',
      web('{ demand: { rule: { type: remainder, perReplica: 2 } } }'),
      'services.web.demand.rule.perReplica: unknown key',
    ],
    [
      'target perReplica missing',
      web('{ demand: { source: { type: push }, rule: { type: target } } }'),
      'services.web.demand.rule.perReplica: required',
    ],
    [
      'target perReplica 0',
      web('{ demand: { source: { type: push }, rule: { type: target, perReplica: 0 } } }'),
      'services.web.demand.rule.perReplica: must be a number > 0, got 0',
    ],
    [
      'target activation negative',
      web('{ demand: { source: { type: push }, rule: { type: target, perReplica: 1, activation: -1 } } }'),
      'services.web.demand.rule.activation: must be a number ≥ 0, got -1',
    ],
    [
      'queue perReplicaRate 0',
      web('{ demand: { source: { type: push }, rule: { type: queue, perReplicaRate: 0 } } }'),
      'services.web.demand.rule.perReplicaRate: must be a number > 0, got 0',
    ],
    [
      'queue drainSeconds 0',
      web(
        '{ demand: { source: { type: push }, rule: { type: queue, perReplicaRate: 1, drainSeconds: 0 } } }',
      ),
      'services.web.demand.rule.drainSeconds: must be a number > 0, got 0',
    ],
    [
      'fixed replicas negative',
      web('{ demand: { rule: { type: fixed, replicas: -1 } } }'),
      'services.web.demand.rule.replicas: must be an integer ≥ 0, got -1',
    ],
    [
      'fixed replicas above max',
      web('{ max: 3, demand: { rule: { type: fixed, replicas: 4 } } }'),
      'services.web.demand.rule.replicas: must be within min and max (0..3), got 4',
    ],
    [
      'fixed replicas below min',
      web('{ min: 2, demand: { rule: { type: fixed, replicas: 1 } } }'),
      'services.web.demand.rule.replicas: must be within min and max (2..10), got 1',
    ],
    [
      'target without source',
      web('{ demand: { rule: { type: target, perReplica: 5 } } }'),
      'services.web.demand.source: required for rule type target',
    ],
    [
      'queue without source',
      web('{ demand: { rule: { type: queue, perReplicaRate: 5 } } }'),
      'services.web.demand.source: required for rule type queue',
    ],
    [
      'remainder with source',
      web('{ demand: { source: { type: push }, rule: { type: remainder } } }'),
      'services.web.demand.source: not used by rule type remainder; remove it',
    ],
    [
      'fixed with source',
      web('{ demand: { source: { type: push }, rule: { type: fixed, replicas: 1 } } }'),
      'services.web.demand.source: not used by rule type fixed; remove it',
    ],
    [
      'source without type',
      web('{ demand: { source: { url: "redis://x" }, rule: { type: target, perReplica: 1 } } }'),
      'services.web.demand.source.type: required',
    ],
    [
      'source a string',
      web('{ demand: { source: push, rule: { type: target, perReplica: 1 } } }'),
      'services.web.demand.source: must be a map, got "push"',
    ],
    ['empty document', '', 'config: the document is empty'],
    ['only a comment', '# nothing yet\n', 'config: the document is empty'],
    ['a list document', '- web\n', 'config: must be a map of settings, got a list'],
    ['a scalar document', 'hello', 'config: must be a map of settings, got "hello"'],
    [
      'YAML syntax',
      'capacity: { replicas: 1\nservices: {}\n',
      'config: line 2, column 1: Flow map in block collection must be sufficiently indented and end with a }',
    ],
    [
      'duplicate key',
      `${web(`{ ${REMAINDER} }`)}capacity: { replicas: 2 }\n`,
      'config: line 4, column 1: duplicate key "capacity"',
    ],
    [
      'unset variable',
      web(`{ ${REMAINDER} }`, 'name: ${INSTANCE}\ncapacity: { replicas: 1 }'),
      'name: environment variable INSTANCE is not set',
    ],
  ];
  for (const [what, text, problem] of cases) {
    test(what, () => assert.deepStrictEqual(problemsOf(text), [problem]));
  }

  test('.json files refuse YAML-only values', () => {
    assert.deepStrictEqual(problemsOf('{"capacity": {"replicas": yes}}', { file: 'shop.json' }), [
      "config: line 1, column 27: not valid JSON: Unexpected token 'y'",
    ]);
  });

  test('a file that cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'microscaler-config-'));
    await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepStrictEqual(error.problems, [`config: cannot read ${join(dir, 'nope.yaml')}: no such file`]);
      return true;
    });
    await assert.rejects(loadConfig(dir), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepStrictEqual(error.problems, [`config: cannot read ${dir}: it is a directory`]);
      return true;
    });
  });
});

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

describe('garbage never throws anything but ConfigError', () => {
  /** Parses and returns normally or with a ConfigError that has at least one problem line. */
  function survives(text: string, options: ParseOptions = {}): void {
    try {
      parseConfig(text, { env: {}, ...options });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      assert.ok(error.problems.length > 0);
      for (const p of error.problems) assert.match(p, /^[^\n]+?: [^\n]+$/, p);
    }
  }

  test('any YAML value', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 6, withNullPrototype: true, withObjectString: true }), (value) => {
        survives(stringify(value, { aliasDuplicateObjects: false }));
      }),
      { numRuns: 300 },
    );
  });

  test('any text, as YAML and as JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        survives(text);
        survives(text, { file: 'x.json' });
      }),
      { numRuns: 300 },
    );
  });

  test('the example with random characters changed', async () => {
    const { readFileSync } = await import('node:fs');
    const example = readFileSync(join(FIXTURES, 'design-example.yaml'), 'utf8');
    const chars = fc.constantFrom(...'{}[]:,-#&*!|>\'"%@` \n\t0aZ.${');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(example.length - 1), chars), { minLength: 1, maxLength: 5 }),
        (edits) => {
          let text = example;
          for (const [at, c] of edits) text = text.slice(0, at) + c + text.slice(at + 1);
          survives(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('random config-shaped documents', () => {
    const scalar = fc.oneof(
      fc.integer({ min: -5, max: 50 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.string(),
      fc.constantFrom('1s', '64Mi', 'target', 'remainder', '${X}'),
    );
    const value = fc.oneof(
      scalar,
      fc.array(scalar, { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }),
    );
    const rule = fc.record(
      {
        type: fc.constantFrom('target', 'queue', 'remainder', 'fixed', 'x'),
        perReplica: value,
        replicas: value,
      },
      { requiredKeys: ['type'] },
    );
    const service = fc.record(
      {
        priority: value,
        min: value,
        max: value,
        run: fc.record({ command: value, cpu: value, memory: value }, { requiredKeys: [] }),
        demand: fc.record({ source: value, rule }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const config = fc.record(
      {
        name: value,
        capacity: fc.record({ replicas: value, cpu: value, memory: value }, { requiredKeys: [] }),
        interval: value,
        services: fc.dictionary(fc.constantFrom('web', 'batch', 'Bad_name', ''), service, { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(config, (doc) => survives(JSON.stringify(doc), { file: 'x.json' })),
      { numRuns: 500 },
    );
  });

  const hostile: Array<[string, string]> = [
    ['deep flow nesting', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
    ['deep map nesting', `a: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}`],
    ['deep block nesting', Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
    ['unclosed flow nesting', '['.repeat(20_000)],
    [
      'alias bomb',
      [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        ...Array.from(
          { length: 9 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(', ')}]`,
        ),
      ].join('\n'),
    ],
    ['alias loop', 'a: &a [*a]'],
    ['huge string', `name: "${'x'.repeat(1_000_000)}"`],
    [
      'many services',
      `capacity: { replicas: 1 }\nservices:\n${Array.from({ length: 1_000 }, (_, i) => `  s${i}: { demand: { rule: { type: remainder } } }`).join('\n')}`,
    ],
    ['binary tag', 'name: !!binary aGVsbG8=\ncapacity: { replicas: 1 }'],
    ['set and omap tags', 'capacity: !!set { a, b }\nservices: !!omap [ a: 1 ]'],
    ['complex keys', '? [a, b]\n: 1\n? { c: d }\n: 2'],
    [
      '__proto__ keys',
      `__proto__: { polluted: 1 }\ncapacity: { replicas: 1, __proto__: 2 }\nservices: { __proto__: { ${REMAINDER} } }`,
    ],
    ['many syntax errors', '"\n'.repeat(1_000)],
    ['NUL bytes', 'a: \0\0\0'],
  ];
  for (const [what, text] of hostile) {
    test(what, () => {
      survives(text);
      survives(text, { file: 'x.json' });
    });
  }

  test('nothing was polluted', () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a file written and loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'microscaler-config-'));
    const file = join(dir, 'garbage.yaml');
    writeFileSync(file, '\u0000\u0001: [');
    await assert.rejects(loadConfig(file), ConfigError);
  });
});
