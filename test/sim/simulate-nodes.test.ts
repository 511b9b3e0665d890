import assert from 'node:assert/strict';
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

const small = ['-c', `${dir}/small.yaml`, '--trace', `${dir}/small.csv`];

describe('microscaler simulate --nodes', () => {
  test('scores the node policies with node-hours and peak nodes, as JSON', async () => {
    const { code, out, err } = await run([...small, '--nodes', '4,4', '--json']);
    assert.equal(err, '');
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.equal(report.capacity, 16);
    assert.equal(report.nodes.size, 4);
    assert.equal(report.nodes.max, 4);
    assert.deepEqual(
      report.policies.map((p: { name: string }) => p.name),
      ['microscaler', 'hpa+ca', 'keda+ca', 'fleet', 'oracle'],
    );
    for (const p of report.policies) {
      assert.ok(p.scores.nodeHours > 0 && p.scores.peakNodes >= 1, p.name);
    }
    // The fleet: 4 nodes for the 1,200 s of the trace.
    const fleet = report.policies.find((p: { name: string }) => p.name === 'fleet');
    assert.ok(Math.abs(fleet.scores.nodeHours - (4 * 1200) / 3600) < 1e-9);
  });

  test('a compressed run says the boot is compressed alike; the table prints the ratios', async () => {
    const { code, out } = await run([...small, '--nodes', '4', '--time-scale', '60']);
    assert.equal(code, 0);
    assert.match(out, /node-hours +peak nodes/);
    assert.match(out, /compressed ×60: boot, removal and node-level windows ÷ 60 alike/);
    assert.match(out, /microscaler ÷ hpa\+ca node-hours [\d.]+ \(target ≤ 1\)/);
    assert.match(out, /microscaler ÷ oracle node-hours [\d.]+ \(target ≤ 1\.10\)/);
  });

  test('rejects bad node flags with exit status 2', async () => {
    for (const args of [
      ['--nodes', '0'],
      ['--nodes', '4,x'],
      ['--nodes', '4', '--start-nodes', '9'],
      ['--boot', '90s..240s'],
      ['--nodes', '4', '--policies', 'kpa'],
    ]) {
      const { code, err } = await run([...small, ...args]);
      assert.equal(code, 2, args.join(' '));
      assert.match(err, /--nodes|--start-nodes|--boot|--policies/);
    }
  });
});
