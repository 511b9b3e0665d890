import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simulateCommand } from '../../src/cli/commands/simulate.js';

const dir = 'test/fixtures/sim';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await simulateCommand(
    args,
    { write: (t: string) => (out += t) },
    { write: (t: string) => (err += t) },
  );
  return { code, out, err };
}

describe('microscaler simulate', () => {
  test('scores every policy on a small trace, as JSON, and writes a plot', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'microscaler-sim-'));
    try {
      const plot = join(tmp, 'plot.html');
      const { code, out, err } = await run([
        '-c',
        `${dir}/small.yaml`,
        '--trace',
        `${dir}/small.csv`,
        '--time-scale',
        '60',
        '--json',
        '--plot',
        plot,
      ]);
      assert.equal(err, '');
      assert.equal(code, 0);
      const report = JSON.parse(out);
      assert.equal(report.trace, 'small.csv');
      assert.deepEqual(
        report.policies.map((p: { name: string }) => p.name),
        ['microscaler', 'hpa', 'keda', 'kpa', 'nomad', 'force12', 'static', 'oracle'],
      );
      for (const p of report.policies) {
        assert.deepEqual(Object.keys(p.scores).sort(), [
          'churnPerHour',
          'overshoot',
          'p1LateWork',
          'p1MaxBacklog',
          'p2WorkDone',
          'utilisation',
        ]);
        assert.ok(p.scores.p1LateWork >= 0 && p.scores.p1LateWork <= 1);
        assert.ok(p.scores.utilisation > 0 && p.scores.utilisation <= 1);
      }
      // 20 one-minute intervals at 60×: 20 simulated seconds.
      assert.equal(report.durationSeconds, 20);
      const html = readFileSync(plot, 'utf8');
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /oracle: priority-1 backlog/);
      assert.doesNotMatch(html, /<script/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('prints a table with microscaler’s ratios in real time', async () => {
    const { code, out } = await run([
      '-c',
      `${dir}/small.yaml`,
      '--trace',
      `${dir}/small.csv`,
      '--policies',
      'microscaler,hpa',
    ]);
    assert.equal(code, 0);
    assert.match(out, /small\.csv, real time: 1,200 simulated s, capacity 14 replicas/);
    assert.match(out, /^hpa\s/m);
    assert.match(out, /microscaler ÷ policy/);
  });

  test('rejects bad usage and configs with exit status 2', async () => {
    assert.equal((await run(['--trace', `${dir}/small.csv`])).code, 2);
    const unknown = await run([
      '-c',
      `${dir}/small.yaml`,
      '--trace',
      `${dir}/small.csv`,
      '--policies',
      'vpa',
    ]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown policy "vpa"/);
    // Without --trace, web's source names no file.
    const missing = await run(['-c', `${dir}/small.yaml`]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /services\.web\.demand\.source\.file: required when --trace is not given/);
    const tmp = mkdtempSync(join(tmpdir(), 'microscaler-sim-'));
    try {
      const bad = join(tmp, 'bad.yaml');
      writeFileSync(
        bad,
        'capacity: { replicas: 4 }\nservices:\n  web:\n    demand:\n      source: { type: static, value: 3 }\n      rule: { type: target, perReplica: 1 }\n',
      );
      const r = await run(['-c', bad]);
      assert.equal(r.code, 2);
      assert.match(r.err, /services\.web\.demand\.source\.type: simulate replays trace sources only/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('a max left to a live capacity (Infinity) is simulated as the capacity: every policy scores as with a fixed one', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'microscaler-sim-'));
    try {
      const text = readFileSync(`${dir}/small.yaml`, 'utf8');
      const live = join(tmp, 'live.yaml');
      writeFileSync(
        live,
        text.replace('capacity: { replicas: 14 }', 'capacity: { from: scheduler, perNode: 14 }'),
      );
      writeFileSync(join(tmp, 'small.csv'), readFileSync(`${dir}/small.csv`));
      const args = ['--trace', `${dir}/small.csv`, '--time-scale', '60', '--json'];
      const fixed = await run(['-c', `${dir}/small.yaml`, ...args]);
      const read = await run(['-c', live, ...args]);
      assert.equal(read.code, 0, read.err);
      const scores = (out: string) =>
        JSON.parse(out).policies.map((p: { name: string; scores: unknown }) => [p.name, p.scores]);
      assert.deepEqual(scores(read.out), scores(fixed.out));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
