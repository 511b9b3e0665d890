// Warm pools and freeze-based preemption end to end (issue 9): the real CLI on the process back-end, real
// processes, /proc read independently of microscaler. Capacity 6: web (priority 1, warm 3) and batch
// (priority 2, remainder, preempt: freeze) whose replicas count up in a file each, so a frozen replica's
// work can be seen to stop and to resume where it stopped.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isGroupStopped } from '../../src/schedulers/process/index.js';
import { type Cli, DemandServer, killAllClis, runCli } from '../fixtures/process/cli.js';
import { liveReplicas, recordIds } from '../fixtures/process/proc.js';

const CAPACITY = 6;
const name = `frz-${process.pid}-${Date.now().toString(36)}`;
const work = mkdtempSync(join(tmpdir(), 'microscaler-freeze-'));
const stateDir = join(work, 'state');
const counters = join(work, 'counters');
mkdirSync(counters);
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

interface Seen {
  readonly running: number[];
  readonly frozen: number[];
}

/** The live replicas of a service by /proc: pids running and pids stopped (frozen). */
function world(service: string): Seen {
  const pids = liveReplicas(name)
    .filter((r) => r.service === service)
    .map((r) => r.pid)
    .sort((a, b) => a - b);
  return { running: pids.filter((p) => !isGroupStopped(p)), frozen: pids.filter((p) => isGroupStopped(p)) };
}

interface StateService {
  readonly name: string;
  readonly desired: number;
  readonly running: number;
  readonly starting: number;
  readonly stopping: number;
  readonly warm?: number;
}

async function state(cli: Cli): Promise<Map<string, StateService>> {
  const { url } = await cli.up;
  const res = await fetch(`${url}/api/state`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { services: StateService[] };
  return new Map(body.services.map((s) => [s.name, s]));
}

type Want = Record<string, { running: number; warm: number }>;

/** Waits until /api/state and /proc both show `want` (nothing starting or stopping); ms it took. */
async function until(cli: Cli, want: Want, what: string, timeoutMs = 15_000): Promise<number> {
  const from = Date.now();
  let last = '';
  for (;;) {
    const s = await state(cli).catch(() => undefined);
    const ok = Object.entries(want).every(([service, w]) => {
      const x = s?.get(service);
      const seen = world(service);
      return (
        x?.running === w.running &&
        x.starting === 0 &&
        x.stopping === 0 &&
        (x.warm ?? 0) === w.warm &&
        seen.running.length === w.running &&
        seen.frozen.length === w.warm
      );
    });
    if (ok) return Date.now() - from;
    last = JSON.stringify({
      state: s && [...s.values()],
      web: world('web'),
      batch: world('batch'),
    });
    if (Date.now() - from > timeoutMs) assert.fail(`${what}: not reached in ${timeoutMs} ms: ${last}`);
    await delay(20);
  }
}

/** The count each batch replica's file holds, by pid (its replica id names the file). */
function countsOf(pids: readonly number[]): Map<number, number> {
  const ids = new Map(liveReplicas(name).map((r) => [r.pid, r.id]));
  return new Map(pids.map((pid) => [pid, countIn(join(counters, ids.get(pid) ?? 'none'))]));
}

/** The count in a replica's file (written to a temporary file and renamed: never seen half-written). */
function countIn(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

/** Samples /proc every 20 ms: replicas that are not frozen must never exceed capacity. */
class Sampler {
  peak = 0;
  samples = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  constructor() {
    this.done = (async () => {
      while (!this.stopped) {
        const active = liveReplicas(name).filter((r) => !isGroupStopped(r.pid)).length;
        this.peak = Math.max(this.peak, active);
        this.samples++;
        await delay(20);
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

test('warm pool and freeze preemption through the CLI: thawed, frozen, resumed, refilled, adopted after kill -9, drained', async () => {
  await demand.start();
  const config = join(work, 'microscaler.yaml');
  writeFileSync(
    config,
    `
name: ${name}
capacity: { replicas: ${CAPACITY} }
interval: 50ms
scheduler: { type: process, stateDir: ${stateDir} }
services:
  web:
    priority: 1
    min: 1
    warm: 3
    scaleDownWindow: 0s
    run: { command: [sleep, "300"] }
    demand:
      source: { type: http, url: "${demand.url('web')}", path: value }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    preempt: freeze
    scaleDownWindow: 0s
    run:
      command: [sh, -c, 'f="$COUNTERS/$MICROSCALER_REPLICA"; i=0; while :; do i=$((i+1)); echo $i > "$f.t"; mv "$f.t" "$f"; sleep 0.02; done']
      env: { COUNTERS: "${counters}" }
    demand: { rule: { type: remainder } }
`,
  );
  const sampler = new Sampler();
  try {
    demand.set('web', 10);
    let cli = runCli(config);
    await cli.up;
    // The pool fills before batch (remainder) takes the rest; then batch runs 5.
    await until(cli, { web: { running: 1, warm: 3 }, batch: { running: 5, warm: 0 } }, 'pool filled');
    const pool = world('web').frozen;
    const batch = world('batch').running;

    // Step up: web thaws its pool (the same pids run) and batch freezes 3 (same pids, kept).
    demand.set('web', 40);
    const up = await until(cli, { web: { running: 4, warm: 0 }, batch: { running: 2, warm: 3 } }, 'step up');
    console.log(`web 1 → 4 with a warm pool and batch freezing: ${up} ms (50 ms tick)`);
    for (const pid of pool) assert.ok(world('web').running.includes(pid), `pool replica ${pid} not thawed`);
    assert.deepEqual(
      [...world('batch').running, ...world('batch').frozen].sort((a, b) => a - b),
      batch,
    );
    const frozenBatch = world('batch').frozen;
    const atFreeze = countsOf(frozenBatch);
    await delay(300);
    assert.deepEqual(countsOf(frozenBatch), atFreeze, 'a frozen batch replica kept counting');

    // Step down: web's 3 surplus are frozen into its pool, batch thaws its 3: their counts go on from there.
    demand.set('web', 10);
    await until(cli, { web: { running: 1, warm: 3 }, batch: { running: 5, warm: 0 } }, 'step down');
    assert.deepEqual(world('batch').running, batch, 'batch replicas replaced rather than thawed');
    await delay(200);
    for (const [pid, count] of countsOf(frozenBatch)) {
      const before = atFreeze.get(pid) ?? 0;
      assert.ok(count > before, `replica ${pid} did not resume: ${count} after ${before}`);
      assert.ok(count < before + 100, `replica ${pid} restarted its count? ${count} after ${before}`);
    }

    // kill -9 with a frozen pool: the next instance adopts it frozen, thaws nothing, starts nothing more.
    const frozenWeb = world('web').frozen;
    cli.child.kill('SIGKILL');
    await cli.exited;
    cli = runCli(config, ['--stop-on-exit']);
    await cli.up;
    await until(cli, { web: { running: 1, warm: 3 }, batch: { running: 5, warm: 0 } }, 'adopted');
    assert.deepEqual(world('web').frozen, frozenWeb, 'the frozen pool was not adopted as it was');
    assert.equal(liveReplicas(name).length, 9, 'duplicates after the restart');

    // --stop-on-exit removes frozen replicas too, and their records. (Sampling ends here: a frozen replica
    // being killed wakes to die, which /proc cannot tell from a thaw.)
    await sampler.stop();
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.stderr());
    assert.deepEqual(liveReplicas(name), [], 'replicas left behind');
    assert.deepEqual(recordIds(stateDir), [], 'records left behind');
  } finally {
    await sampler.stop();
  }
  assert.ok(sampler.samples > 20, `only ${sampler.samples} samples`);
  assert.ok(sampler.peak <= CAPACITY, `${sampler.peak} replicas not frozen at once, capacity ${CAPACITY}`);
});

test('capacity with a memory limit: frozen replicas count in memory, and freeze-preempted ones are stopped when their memory is needed', async () => {
  const instance = `${name}-m`;
  const dir = join(work, 'memory');
  mkdirSync(dir);
  const config = join(dir, 'microscaler.yaml');
  // 600Mi for 100Mi replicas: whatever is frozen leaves less for what runs.
  writeFileSync(
    config,
    `
name: ${instance}
capacity: { replicas: 6, memory: 600Mi }
interval: 50ms
scheduler: { type: process, stateDir: ${join(dir, 'state')} }
services:
  web:
    priority: 1
    min: 1
    warm: 2
    scaleDownWindow: 0s
    run: { command: [sleep, "300"], memory: 100Mi }
    demand:
      source: { type: http, url: "${demand.url('memweb')}", path: value }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    preempt: freeze
    scaleDownWindow: 0s
    run: { command: [sleep, "300"], memory: 100Mi }
    demand: { rule: { type: remainder } }
`,
  );
  const count = (service: string) => {
    const pids = liveReplicas(instance)
      .filter((r) => r.service === service)
      .map((r) => r.pid);
    return {
      running: pids.filter((p) => !isGroupStopped(p)).length,
      frozen: pids.filter(isGroupStopped).length,
    };
  };
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, liveReplicas(instance).length); // every live replica holds 100Mi
      await delay(20);
    }
  })();
  const reach = async (want: Record<string, { running: number; frozen: number }>, what: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const seen = { web: count('web'), batch: count('batch') };
      if (JSON.stringify(seen) === JSON.stringify(want)) return;
      if (Date.now() > deadline)
        assert.fail(`${what}: ${JSON.stringify(seen)}, wanted ${JSON.stringify(want)}`);
      await delay(20);
    }
  };
  try {
    demand.set('memweb', 10);
    const cli = runCli(config, ['--stop-on-exit']);
    await cli.up;
    // web 1 + 2 frozen = 300Mi: batch (remainder) gets the 300Mi left, though 5 replicas would be free.
    await reach({ web: { running: 1, frozen: 2 }, batch: { running: 3, frozen: 0 } }, 'settled');
    // web → 4: its 2 frozen thaw, 1 cold start; batch must give 1 replica up: it freezes it (still 100Mi),
    // so web's cold start needs that memory: the frozen batch replica is stopped for it.
    demand.set('memweb', 40);
    await reach({ web: { running: 4, frozen: 0 }, batch: { running: 2, frozen: 0 } }, 'step up');
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.stderr());
    assert.deepEqual(liveReplicas(instance), []);
  } finally {
    sampling = false;
    await sampler;
  }
  assert.ok(peak <= 6, `${peak} replicas of 100Mi alive at once in 600Mi`);
});
