// `warm` and `preempt` per service (issue 9): defaults, bounds, and refusal on back-ends that cannot freeze.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../core/errors.js';
import { freezingSchedulers } from '../schedulers/registry.js';
import { parseConfig } from './load.js';

const config = (scheduler: string, service: string) => `
name: shop
capacity: { replicas: 4 }
scheduler: { type: ${scheduler} }
services:
  web: { ${service} demand: { rule: { type: fixed, replicas: 1 } } }
`;

const parse = (text: string) => parseConfig(text, { env: {}, freezingSchedulers });

function problemsOf(text: string): readonly string[] {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('accepted');
}

test('warm and preempt: absent by default; set on the back-ends that freeze (docker, process)', () => {
  const plain = parse(config('process', '')).services[0];
  assert.equal(plain?.warm, undefined);
  assert.equal(plain?.preempt, undefined);
  assert.deepEqual([...freezingSchedulers].sort(), ['docker', 'process']);
  for (const type of ['docker', 'process']) {
    const web = parse(config(type, 'warm: 3, preempt: freeze,')).services[0];
    assert.equal(web?.warm, 3);
    assert.equal(web?.preempt, 'freeze');
  }
  assert.equal(parse(config('process', 'preempt: stop,')).services[0]?.preempt, undefined);
});

test('warm and preempt: bad values get one clear line each', () => {
  assert.deepEqual(problemsOf(config('process', 'warm: -1,')), [
    'services.web.warm: must be an integer ≥ 0, got -1',
  ]);
  assert.match(problemsOf(config('process', 'warm: 1.5,')).join('\n'), /^services\.web\.warm: .*integer/);
  assert.match(
    problemsOf(config('process', 'preempt: pause,')).join('\n'),
    /^services\.web\.preempt: .*stop.*freeze/,
  );
});

test('warm and preempt: refused where the back-end cannot freeze, naming the ones that can', () => {
  for (const type of ['swarm', 'kubernetes', 'nomad', 'marathon', 'ecs']) {
    assert.deepEqual(problemsOf(config(type, 'warm: 2, preempt: freeze,')), [
      `services.web.warm: the ${type} back-end cannot freeze replicas (only process and docker can)`,
      `services.web.preempt: the ${type} back-end cannot freeze replicas (only process and docker can)`,
    ]);
    // the defaults are fine anywhere
    assert.equal(parse(config(type, 'warm: 0, preempt: stop,')).services[0]?.warm, undefined);
  }
});
