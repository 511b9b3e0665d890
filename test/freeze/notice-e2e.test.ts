// Freeze notices through the CLI (issue 13, item 9): capacity 2, web (priority 1) and batch (priority 2,
// remainder, `preempt: { freeze: true, notify: SIGUSR1, grace: 20s }`). When web takes a replica, batch's
// replica is told (SIGUSR1) and keeps running in its grace; when web gives the replica back before the grace
// is over, the controller takes batch's replica back: it is never frozen, it hears SIGCONT, and it is the
// same process. Real processes; /proc read independently of microscaler.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isGroupStopped } from '../../src/schedulers/process/index.js';
import { DemandServer, killAllClis, readState, runCli } from '../fixtures/process/cli.js';
import { liveReplicas } from '../fixtures/process/proc.js';

const name = `ntc-${process.pid}-${Date.now().toString(36)}`;
const work = mkdtempSync(join(tmpdir(), 'microscaler-notice-'));
const notes = join(work, 'notes');
mkdirSync(notes);
const demand = new DemandServer();

after(async () => {
  killAllClis();
  for (const r of liveReplicas(name)) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {}
  }
  await demand.close();
  rmSync(work, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(20);
  }
}

const batch = () => liveReplicas(name).filter((r) => r.service === 'batch');

test('a preempted replica told of its freeze is taken back, never frozen, when web gives its replica back within the grace', async () => {
  await demand.start();
  const config = join(work, 'microscaler.yaml');
  writeFileSync(
    config,
    `
name: ${name}
capacity: { replicas: 2 }
interval: 50ms
scheduler: { type: process, stateDir: ${join(work, 'state')} }
services:
  web:
    priority: 1
    scaleDownWindow: 0s
    run: { command: [sleep, "300"], stopGrace: 200ms }
    demand:
      source: { type: http, url: "${demand.url('web')}", path: value }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    scaleDownWindow: 0s
    preempt: { freeze: true, notify: SIGUSR1, grace: 20s }
    run:
      command: [sh, -c, 'f="$NOTES/$MICROSCALER_REPLICA"; trap "echo >> $f.usr1" USR1; trap "echo >> $f.cont" CONT; while :; do sleep 0.02; done']
      env: { NOTES: "${notes}" }
    demand: { rule: { type: remainder } }
`,
  );
  demand.set('web', 0);
  const cli = runCli(config, ['--stop-on-exit']);
  const { url } = await cli.up;
  await until('batch running 2', () => batch().length === 2);
  const pids = batch()
    .map((r) => r.pid)
    .sort();

  // Sample /proc: no batch replica may ever be stopped (frozen) in this test.
  let frozenSeen = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const r of batch()) if (isGroupStopped(r.pid)) frozenSeen++;
      await delay(10);
    }
  })();
  try {
    demand.set('web', 10);
    const told = () => batch().filter((r) => existsSync(join(notes, `${r.id}.usr1`)));
    await until('a batch replica to be told of its freeze', () => told().length === 1);
    const noticed = told()[0];
    assert.ok(noticed);
    // In its grace, web waits for the replica slot: the capacity of 2 holds.
    const s = await readState(url);
    const web = s.services.find((x) => x.name === 'web');
    assert.equal(web?.running ?? 0, 0, 'web does not run before batch gives the replica up');

    demand.set('web', 0);
    // Taken back long before the 20 s grace is over: told to go on (SIGCONT), the same process.
    await until(
      'the taken-back replica to hear SIGCONT',
      () => existsSync(join(notes, `${noticed.id}.cont`)),
      10_000,
    );
    await until('batch running 2 again', async () => {
      const b = (await readState(url)).services.find((x) => x.name === 'batch');
      return b?.running === 2 && b.starting === 0 && b.stopping === 0;
    });
    assert.deepEqual(
      batch()
        .map((r) => r.pid)
        .sort(),
      pids,
      'the same two processes',
    );
  } finally {
    sampling = false;
    await sampler;
  }
  assert.equal(frozenSeen, 0, 'a batch replica was frozen');
  cli.child.kill('SIGTERM');
  await cli.exited;
});
