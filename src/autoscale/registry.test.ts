// The autoscale target registry: each type's settings schema, problem lines a config author can act on, and
// the factory building the target its type names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../core/errors.js';
import { systemClock } from '../infra/system-clock.js';
import { autoscaleProblems, autoscaleSchemas, createAutoscaleTarget } from './registry.js';
import { WebhookTarget } from './webhook.js';

const ctx = { clock: systemClock, logger: { log() {} }, instance: 'shop' };

describe('autoscale target registry', () => {
  test('every type has a strict settings schema without `type`', () => {
    assert.deepEqual(Object.keys(autoscaleSchemas).sort(), ['aws-asg', 'kubernetes-headroom', 'webhook']);
    for (const [type, schema] of Object.entries(autoscaleSchemas)) {
      assert.equal('type' in schema.shape, false, type);
      assert.equal(schema.safeParse({ nonsense: 1 }).success, false, type);
    }
    assert.equal(autoscaleSchemas.webhook?.safeParse({ url: 'http://x/y' }).success, true);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['valid webhook', { type: 'webhook', url: 'https://hooks.example/scale' }, []],
    ['valid aws-asg', { type: 'aws-asg', group: 'workers', region: 'eu-west-1' }, []],
    [
      'unknown type',
      { type: 'gcp-mig' },
      [
        'capacity.autoscale.target.type: unknown autoscale target "gcp-mig" (known: webhook, aws-asg, kubernetes-headroom)',
      ],
    ],
    ['missing group', { type: 'aws-asg' }, ['capacity.autoscale.target.group: required']],
    [
      'unknown setting',
      { type: 'aws-asg', group: 'g', size: 2 },
      ['capacity.autoscale.target.size: unknown setting (known: group, region, endpoint)'],
    ],
    [
      'bad url',
      { type: 'webhook', url: 'ftp://x/y' },
      ['capacity.autoscale.target.url: must be an http:// or https:// URL'],
    ],
  ];
  for (const [name, spec, problems] of cases) {
    test(`problems: ${name}`, () => {
      assert.deepEqual(autoscaleProblems(spec as { type: string }), problems);
    });
  }

  test('createAutoscaleTarget builds the type named, defaults applied; a bad spec is a ConfigError', async () => {
    const t = await createAutoscaleTarget({ type: 'webhook', url: 'http://127.0.0.1:9/x' }, ctx);
    assert.ok(t instanceof WebhookTarget);
    await t.close();
    await assert.rejects(createAutoscaleTarget({ type: 'aws-asg' }, ctx), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /capacity\.autoscale\.target\.group: required/);
      return true;
    });
    await assert.rejects(
      createAutoscaleTarget({ type: 'kubernetes-headroom' }, ctx),
      /no Kubernetes API credentials/,
    );
  });
});
