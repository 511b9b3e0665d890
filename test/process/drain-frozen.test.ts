// `run --stop-on-exit` continues a frozen replica before it asks it to stop: it acts on its SIGTERM like
// the others, and nothing is left SIGSTOPped.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  apiUrl,
  cli,
  exited,
  getJson,
  killAll,
  killClis,
  processesOf,
  type State,
  waitFor,
} from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'microscaler-drainfrozen-'));
const instance = `drainfrozen-${process.pid}`;
after(() => {
  killClis();
  killAll(instance);
  rmSync(work, { recursive: true, force: true });
});

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

test('stop-on-exit continues a frozen replica before its SIGTERM: it stops as gracefully as the running one', {
  timeout: 120_000,
}, async () => {
  const marker = join(work, 'stopped');
  const config = join(work, 'microscaler.yaml');
  // Writes its replica id when it gets SIGTERM, then exits.
  const script = `trap 'echo "$MICROSCALER_REPLICA" >> ${marker}; exit 0' TERM; while :; do sleep 0.1; done`;
  writeFileSync(
    config,
    `
name: ${instance}
capacity: { replicas: 4 }
interval: 50ms
scheduler: { type: process, stateDir: ${JSON.stringify(join(work, 'state'))} }
services:
  web:
    priority: 1
    min: 1
    max: 1
    warm: 1
    run: { command: [sh, -c, ${JSON.stringify(script)}], stopGrace: 5s }
    demand: { rule: { type: fixed, replicas: 1 } }
`,
  );
  const run = cli(['run', '-c', config, '--listen', '127.0.0.1:0', '--stop-on-exit']);
  const url = await apiUrl(run);
  await waitFor('one running and one frozen', async () => {
    const web = (await getJson<State>(`${url}/api/state`)).services[0];
    return web?.running === 1 && web.warm === 1 ? true : undefined;
  });
  const stopped = await waitFor('a stopped process', () =>
    processesOf(instance).some((p) => procState(p) === 'T') ? true : undefined,
  );
  assert.ok(stopped);

  run.child.kill('SIGTERM');
  const result = await exited(run, 30_000);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(processesOf(instance), [], 'stop-on-exit left processes behind');
  const graceful = existsSync(marker) ? readFileSync(marker, 'utf8').trim().split('\n') : [];
  assert.equal(graceful.length, 2, `replicas that acted on their SIGTERM: ${graceful.join(', ')}`);
});
