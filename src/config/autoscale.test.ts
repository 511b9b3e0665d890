// capacity.autoscale: what it converts to, its defaults, and a problem line for each way it can be wrong
// (the target's settings checked by the autoscale registry's schemas).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { problemsOf, REMAINDER, web } from '../../test/fixtures/config/parse.js';
import { autoscaleSchemas } from '../autoscale/registry.js';
import { type ParseOptions, parseConfig } from './load.js';

const options: ParseOptions = {
  sourceSchemas: { http: z.strictObject({ url: z.string(), path: z.string().optional() }) },
  resourceSchedulers: { process: { nodes: false }, swarm: { nodes: true } },
  autoscaleSchemas,
};
const yaml = (capacity: string) =>
  web(`{ ${REMAINDER} }`, `capacity: ${capacity}\nscheduler: { type: swarm }`);
const HOOK = 'target: { type: webhook, url: "http://127.0.0.1:9/scale" }';

describe('capacity.autoscale', () => {
  test('defaults: k = 1, out after 30 s, in after 10 min, a 5 min cooldown, one node a request', () => {
    const c = parseConfig(yaml(`{ from: scheduler, perNode: 4, autoscale: { ${HOOK} } }`), {
      env: {},
      ...options,
    });
    assert.deepEqual(c.liveCapacity?.autoscale, {
      target: { type: 'webhook', url: 'http://127.0.0.1:9/scale' },
      upToPriority: 1,
      scaleOutAfterMs: 30_000,
      scaleInAfterMs: 600_000,
      cooldownMs: 300_000,
      maxStep: 1,
    });
  });

  test('every field set, on a capacity read from a source', () => {
    const c = parseConfig(
      yaml(
        `{ source: { type: http, url: "http://x/b", path: n }, autoscale: { ${HOOK}, priorities: 2, scaleOutAfter: 1m, scaleInAfter: 30m, cooldown: 2m, maxStep: 3, node: { cpu: 4, memory: 16Gi, replicas: 8 } } }`,
      ),
      { env: {}, ...options },
    );
    assert.deepEqual(c.liveCapacity?.autoscale, {
      target: { type: 'webhook', url: 'http://127.0.0.1:9/scale' },
      upToPriority: 2,
      scaleOutAfterMs: 60_000,
      scaleInAfterMs: 1_800_000,
      cooldownMs: 120_000,
      maxStep: 3,
      node: { cpu: 4, memory: 16 * 2 ** 30, replicas: 8 },
    });
  });

  const cases: [string, string, RegExp][] = [
    [
      'a fixed capacity',
      `{ replicas: 8, autoscale: { ${HOOK} } }`,
      /^capacity\.autoscale: needs a live capacity/,
    ],
    ['no target', '{ from: scheduler, perNode: 4, autoscale: {} }', /^capacity\.autoscale\.target: /],
    [
      'an unknown target',
      '{ from: scheduler, perNode: 4, autoscale: { target: { type: gce } } }',
      /^capacity\.autoscale\.target\.type: must be one of aws-asg, kubernetes-headroom, webhook/,
    ],
    [
      "a target's bad setting",
      '{ from: scheduler, perNode: 4, autoscale: { target: { type: webhook, url: "ftp://x" } } }',
      /^capacity\.autoscale\.target\.url: /,
    ],
    [
      'maxStep 0',
      `{ from: scheduler, perNode: 4, autoscale: { ${HOOK}, maxStep: 0 } }`,
      /^capacity\.autoscale\.maxStep: /,
    ],
    [
      'an unknown key',
      `{ from: scheduler, perNode: 4, autoscale: { ${HOOK}, every: 1s } }`,
      /^capacity\.autoscale\.every: /,
    ],
  ];
  for (const [what, capacity, want] of cases) {
    test(`one problem: ${what}`, () => {
      const problems = problemsOf(yaml(capacity), options);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0] ?? '', want);
    });
  }
});
