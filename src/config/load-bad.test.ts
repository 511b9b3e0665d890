// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config strings hold ${NAME} references, not templates
// The config loader refuses bad configs with exactly one problem line each.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { problemsOf, REMAINDER, web } from '../../test/fixtures/config/parse.js';
import { ConfigError } from '../core/errors.js';
import { loadConfig } from './load.js';

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
