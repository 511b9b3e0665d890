// A replica is its whole process group: children of a leader that exited are stopped (SIGTERM, SIGKILL
// after the grace) before the replica counts as gone, and `--stop-on-exit` leaves none behind.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const work = mkdtempSync(join(tmpdir(), 'microscaler-group-'));
const instance = `group-${process.pid}`;
after(() => {
  killClis();
  killAll(instance);
  rmSync(work, { recursive: true, force: true });
});

/** The process group of a live process, from /proc; undefined once it is gone. */
function pgrpOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : Number(fields[2]);
  } catch {
    return undefined;
  }
}

test('children of a replica whose leader exited are stopped, one that ignores SIGTERM after the grace, and stop-on-exit leaves none', {
  timeout: 120_000,
}, async () => {
  const config = join(work, 'microscaler.yaml');
  // The leader starts two children, one of which ignores SIGTERM, and exits at once.
  const script = 'sleep 300 & (trap "" TERM; exec sleep 301) & exit 0';
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
    min: 2
    max: 2
    run: { command: [sh, -c, ${JSON.stringify(script)}], stopGrace: 1s }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
  );
  const run = cli(['run', '-c', config, '--listen', '127.0.0.1:0', '--stop-on-exit']);
  const url = await apiUrl(run);
  // Children of the first replicas (their leaders exited at once).
  const first = await waitFor('children of the first replicas', () => {
    const pids = processesOf(instance);
    return pids.length >= 4 ? pids : undefined;
  });
  const groups = new Set(first.map(pgrpOf));
  // Each is stopped: the one that ignores SIGTERM too, after the 1 s grace.
  await waitFor('the first children gone', () =>
    first.every((p) => pgrpOf(p) === undefined) ? true : undefined,
  );
  const web = (await getJson<State>(`${url}/api/state`)).services[0];
  assert.ok(web, 'web in state');
  // While some are still being stopped, the replicas so far count as stopping, never as running.
  assert.equal(web.running, 0);
  // Over a few seconds of this loop, nothing piles up: only the groups of at most the current replicas.
  await new Promise((r) => setTimeout(r, 3000));
  const live = processesOf(instance);
  assert.ok(live.length <= 4 * 2, `${live.length} processes of 2 replicas: ${live.join(' ')}`);
  assert.ok(
    live.every((p) => !groups.has(pgrpOf(p))),
    'a process of a first replica group survives',
  );
  run.child.kill('SIGTERM');
  const result = await exited(run, 30_000);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(processesOf(instance), [], 'stop-on-exit left processes behind');
});

test('what is left of a replica whose leader exited while no microscaler ran is stopped by the next run', {
  timeout: 120_000,
}, async () => {
  const name = `${instance}-b`;
  const config = join(work, 'leftover.yaml');
  writeFileSync(
    config,
    `
name: ${name}
capacity: { replicas: 2 }
interval: 50ms
scheduler: { type: process, stateDir: ${JSON.stringify(join(work, 'state-leftover'))} }
services:
  web:
    priority: 1
    min: 1
    max: 1
    run: { command: [sh, -c, "sleep 300 & wait"], stopGrace: 1s }
    demand: { rule: { type: fixed, replicas: 1 } }
`,
  );
  const first = cli(['run', '-c', config, '--listen', '127.0.0.1:0']);
  await apiUrl(first);
  const [leader, child] = await waitFor('the replica and its child', () => {
    const pids = processesOf(name);
    return pids.length === 2 ? pids : undefined;
  });
  assert.ok(leader !== undefined && child !== undefined);
  assert.equal(pgrpOf(child), leader, 'the child is in its leader’s group');
  // microscaler dies, then the replica's leader alone (not its group): its child lives on, unwatched.
  first.child.kill('SIGKILL');
  await first.done;
  process.kill(leader, 'SIGKILL');
  await waitFor('the leader gone', () => (pgrpOf(leader) === undefined ? true : undefined));
  assert.equal(pgrpOf(child), leader, 'the child outlived its leader');

  const second = cli(['run', '-c', config, '--listen', '127.0.0.1:0', '--stop-on-exit']);
  await apiUrl(second);
  await waitFor(
    'the left-over child stopped',
    () => (pgrpOf(child) === undefined ? true : undefined),
    10_000,
  );
  second.child.kill('SIGTERM');
  const result = await exited(second, 30_000);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(processesOf(name), [], 'stop-on-exit left processes behind');
});
