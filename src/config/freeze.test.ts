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

test('preempt and warm, long forms: a freeze notice (notify, grace) reaches the back-end in run.freezeNotice', () => {
  const web = parse(config('process', 'preempt: { freeze: true, notify: SIGUSR1, grace: 2s },')).services[0];
  assert.equal(web?.preempt, 'freeze');
  assert.deepEqual(web?.run.freezeNotice, { notify: 'SIGUSR1', graceMs: 2000 });
  const url = 'http://127.0.0.1:9000/freeze/{service}/{replica}';
  const pool = parse(config('docker', `warm: { replicas: 2, notify: "${url}" },`)).services[0];
  assert.equal(pool?.warm, 2);
  assert.deepEqual(pool?.run.freezeNotice, { notify: url, graceMs: 500 }, 'grace defaults to 500ms');
  // the short forms keep their meaning, without a notice
  const short = parse(config('process', 'warm: 1, preempt: freeze,')).services[0];
  assert.equal(short?.run.freezeNotice, undefined);
  assert.equal(parse(config('process', 'preempt: { freeze: false },')).services[0]?.preempt, undefined);
  const both = 'warm: { replicas: 1, notify: SIGUSR2 }, preempt: { freeze: true, notify: SIGUSR2 },';
  assert.deepEqual(parse(config('process', both)).services[0]?.run.freezeNotice, {
    notify: 'SIGUSR2',
    graceMs: 500,
  });
});

test('freeze notice: bad values get one clear line each', () => {
  assert.deepEqual(problemsOf(config('process', 'preempt: { freeze: true, notify: SIGKILL },')), [
    'services.web.preempt.notify: must be a signal name like SIGUSR1 (not SIGKILL, SIGSTOP or SIGCONT) or an http:// or https:// URL, got "SIGKILL"',
  ]);
  assert.match(
    problemsOf(config('process', 'preempt: { freeze: true, notify: usr1 },')).join('\n'),
    /^services\.web\.preempt\.notify: must be a signal name/,
  );
  assert.deepEqual(problemsOf(config('process', 'preempt: { freeze: true, grace: 1s },')), [
    'services.web.preempt.grace: needs notify (grace is how long a notified replica gets)',
  ]);
  assert.deepEqual(problemsOf(config('process', 'preempt: { freeze: false, notify: SIGUSR1 },')), [
    'services.web.preempt.notify: needs freeze: true (only a freeze is announced)',
  ]);
  assert.deepEqual(problemsOf(config('process', 'preempt: { freeze: true, notify: SIGUSR1, grace: 2m },')), [
    'services.web.preempt.grace: must be at most 60s, got 120000ms',
  ]);
  assert.deepEqual(problemsOf(config('process', 'warm: { replicas: 1, notify: SIGUSR1, extra: 1 },')), [
    'services.web.warm.extra: unknown key',
  ]);
  assert.deepEqual(
    problemsOf(
      config(
        'process',
        'warm: { replicas: 1, notify: SIGUSR2 }, preempt: { freeze: true, notify: SIGUSR1 },',
      ),
    ),
    [
      "services.web.warm.notify: differs from preempt's notify or grace; a service has one freeze notice (give it once)",
    ],
  );
  assert.match(
    problemsOf(config('process', 'preempt: [freeze],')).join('\n'),
    /^services\.web\.preempt: must be stop, freeze or a map/,
  );
  assert.deepEqual(problemsOf(config('swarm', 'preempt: { freeze: true, notify: SIGUSR1 },')), [
    'services.web.preempt: the swarm back-end cannot freeze replicas (only process and docker can)',
  ]);
});
