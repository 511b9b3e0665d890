// Without `ha:`, a second `run` on the same state folder (a second terminal, a forgotten background run) is
// refused, and a kill -9 of the holder frees the folder at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const work = mkdtempSync(join(tmpdir(), 'microscaler-lock-'));
const instance = `lock-${process.pid}`;
after(() => {
  killClis();
  killAll(instance);
  rmSync(work, { recursive: true, force: true });
});

const config = join(work, 'microscaler.yaml');
writeFileSync(
  config,
  `
name: ${instance}
capacity: { replicas: 3 }
interval: 50ms
scheduler: { type: process, stateDir: ${JSON.stringify(join(work, 'state'))} }
services:
  web:
    priority: 1
    min: 2
    max: 3
    run: { command: [sleep, "300"], stopGrace: 1s }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
);

test('a second run on the same state folder exits 2 naming the holder; after kill -9 of the holder a new one starts at once', {
  timeout: 120_000,
}, async () => {
  const first = cli(['run', '-c', config, '--listen', '127.0.0.1:0']);
  const url = await apiUrl(first);
  await waitFor('2 replicas', async () =>
    (await getJson<State>(`${url}/api/state`)).services[0]?.running === 2 ? true : undefined,
  );
  const replicas = processesOf(instance);
  assert.equal(replicas.length, 2);

  const second = cli(['run', '-c', config, '--listen', '127.0.0.1:0']);
  const refused = await exited(second, 20_000);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, new RegExp(`pid ${first.child.pid}\\b`));
  assert.match(refused.stderr, /`ha:`/);
  assert.match(refused.stderr, /`name:`/);
  assert.deepEqual(processesOf(instance), replicas, 'the refused run touched the replicas');

  // kill -9: the kernel frees the lock (the replicas, which keep running, do not hold it)
  first.child.kill('SIGKILL');
  await first.done;
  assert.deepEqual(processesOf(instance), replicas);
  const third = cli(['run', '-c', config, '--listen', '127.0.0.1:0', '--stop-on-exit']);
  const url3 = await apiUrl(third);
  await waitFor('the adopted replicas', async () =>
    (await getJson<State>(`${url3}/api/state`)).services[0]?.running === 2 ? true : undefined,
  );
  assert.deepEqual(processesOf(instance), replicas, 'adopted, not duplicated');
  third.child.kill('SIGTERM');
  const r3 = await third.done;
  assert.equal(r3.code, 0, r3.stderr);
  assert.deepEqual(processesOf(instance), [], 'stop-on-exit left replicas behind');
});
