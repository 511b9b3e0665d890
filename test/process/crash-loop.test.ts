// A replica that exits at once (`command: ["true"]`) is restarted with backoff, never counted as running,
// and the error shows in state and events.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { apiUrl, cli, exited, getJson, killAll, killClis, type State, waitFor } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'microscaler-crashloop-'));
const instance = `crashloop-${process.pid}`;
after(() => {
  killClis();
  killAll(instance);
  rmSync(work, { recursive: true, force: true });
});

test('replicas that exit right after starting are backed off, count as not running, and the error is in state and events', {
  timeout: 120_000,
}, async () => {
  const state = join(work, 'state');
  const config = join(work, 'microscaler.yaml');
  writeFileSync(
    config,
    `
name: ${instance}
capacity: { replicas: 4 }
interval: 20ms
scheduler: { type: process, stateDir: ${JSON.stringify(state)} }
services:
  web:
    priority: 1
    min: 2
    max: 2
    run: { command: ["true"] }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
  );
  const run = cli(['run', '-c', config, '--listen', '127.0.0.1:0']);
  const url = await apiUrl(run);
  const web = async () => (await getJson<State>(`${url}/api/state`)).services[0];
  const error = await waitFor('the crash loop in state', async () => (await web())?.scaleError);
  assert.match(error, /exit right after starting \(exit code 0; output in .*\.log\)/);
  // From here on it is a crash loop: sampled for 5 s, no replica ever counts as running.
  const samples: number[] = [];
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    samples.push((await web())?.running ?? -1);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(
    samples.filter((n) => n !== 0),
    [],
    `running while in a crash loop (${samples.length} samples)`,
  );
  run.child.kill('SIGTERM');
  const result = await exited(run, 30_000);
  assert.equal(result.code, 0, result.stderr);
  // Without backoff: about 100 starts a second (one log file each); with it, a handful in these seconds.
  const starts = readdirSync(join(state, 'logs')).length;
  assert.ok(starts <= 60, `${starts} replicas started in a crash loop of about 6 s`);
  assert.match(run.stdout(), /error.*exit right after starting/);
});
