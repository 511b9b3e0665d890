// Crash safety of the process back-end, through the CLI as a user runs it: kill -9 at seeded random
// moments of a scale-up, a preemption and a scale-down, then a restart. The real world (live processes
// from /proc, records in the state folder) is sampled every ~20 ms during the whole run, crash windows
// included. Set MICROSCALER_CRASH_SEED to replay a run; the seed is printed.
//
// Convergence, as measured here: from the moment the restarted instance is up (it prints "api listening",
// which it does after adopting what runs and as its loop starts) until, at one sample, every service's
// state shows desired = the expected plan, running = desired and nothing starting or stopping, AND /proc
// holds exactly that many live replicas per service, each with exactly one record. The bound is the
// promise itself, 1 s. What it has to cover: the first tick (50 ms interval, the http source answers in
// ms), at most one batch replica's 200 ms stop (a stop cut off by the crash) and the spawns (ms); about
// 0.3 s in all, so the bound leaves 3x for a loaded machine.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { mulberry32 } from '../../src/core/random.js';
import { type Cli, DemandServer, killAllClis, readState, runCli } from '../fixtures/process/cli.js';
import { liveReplicas, recordIds } from '../fixtures/process/proc.js';

const CAPACITY = 6;
const CONVERGE_MS = 1000;
const seed = Number(process.env.MICROSCALER_CRASH_SEED ?? Date.now() % 1_000_000);
console.log(`process crash test: seed ${seed} (MICROSCALER_CRASH_SEED=${seed} replays it)`);
const random = mulberry32(seed);

const work = mkdtempSync(join(tmpdir(), 'microscaler-crash-'));
const name = `crash-${process.pid}-${seed}`;
const stateDir = join(work, 'state');
const demand = new DemandServer();

after(async () => {
  killAllClis();
  for (const r of liveReplicas(name)) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await demand.close();
  rmSync(work, { recursive: true, force: true });
});

/** web = ceil(value / 10) within [1, 6]; batch takes the rest. */
function expected(value: number): Map<string, number> {
  const web = Math.min(CAPACITY, Math.max(1, Math.ceil(value / 10)));
  return new Map([
    ['web', web],
    ['batch', CAPACITY - web],
  ]);
}

/** Samples the real world every ~20 ms; records the peak and any sample over capacity. */
class Sampler {
  peak = 0;
  samples = 0;
  readonly over: string[] = [];
  private running = true;
  private readonly done: Promise<void>;
  constructor() {
    this.done = (async () => {
      while (this.running) {
        const live = liveReplicas(name);
        this.samples++;
        this.peak = Math.max(this.peak, live.length);
        if (live.length > CAPACITY) this.over.push(`${new Date().toISOString()}: ${live.length} live`);
        await delay(20);
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** Waits for convergence as defined above; returns the ms since `from`. */
async function converge(cli: Cli, want: Map<string, number>, from: number): Promise<number> {
  const { url } = await cli.up;
  const deadline = Date.now() + 10_000;
  let last = '';
  for (;;) {
    const state = await readState(url).catch(() => undefined);
    const live = liveReplicas(name);
    const records = recordIds(stateDir);
    const ok =
      state !== undefined &&
      [...want].every(([service, n]) => {
        const s = state.services.find((x) => x.name === service);
        return (
          s?.desired === n &&
          s.running === n &&
          s.starting === 0 &&
          s.stopping === 0 &&
          live.filter((r) => r.service === service).length === n
        );
      }) &&
      live.length === records.length &&
      live.every((r) => records.includes(r.id));
    if (ok) return Date.now() - from;
    last = `state ${JSON.stringify(state?.services)}, live ${JSON.stringify(live)}, records ${JSON.stringify(records)}`;
    if (Date.now() > deadline) assert.fail(`no convergence within 10 s: ${last}`);
    await delay(10);
  }
}

test('kill -9 during scale-up, preemption and scale-down: no duplicates, no orphans, capacity kept, convergence within 1 s of restart', async () => {
  await demand.start();
  const config = join(work, 'microscaler.yaml');
  // batch replicas take 200 ms to stop (a TERM trap), so a kill can land while they are stopping.
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
    scaleDownWindow: 0s
    run: { command: [sleep, "300"], stopGrace: 2s }
    demand:
      source: { type: http, url: "${demand.url('web')}", path: value }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    scaleDownWindow: 0s
    run: { command: [sh, -c, 'trap "sleep 0.2; exit 0" TERM; sleep 300 & wait'], stopGrace: 2s }
    demand: { rule: { type: remainder } }
`,
  );
  // Each step: the demand to set, then a kill after a random delay within the step's window (ms).
  const steps = [
    { phase: 'first scale-up from nothing', value: 20, window: 400 },
    { phase: 'preemption (web 2 → 5, batch 4 → 1)', value: 50, window: 150 },
    { phase: 'scale-down (web 5 → 1, batch refills)', value: 5, window: 150 },
    { phase: 'preemption again (web 1 → 6, batch to 0)', value: 60, window: 150 },
    { phase: 'scale-down again (web 6 → 3)', value: 30, window: 150 },
  ];
  const sampler = new Sampler();
  const times: string[] = [];
  try {
    demand.set('web', 0);
    let cli: Cli | undefined;
    for (const step of steps) {
      const at = Math.floor(random() * step.window);
      if (cli === undefined) {
        demand.set('web', step.value);
        cli = runCli(config);
        await cli.up; // the first instance: kill it `at` ms into its initial scale-up
      } else {
        demand.set('web', step.value);
      }
      await delay(at);
      cli.child.kill('SIGKILL');
      await cli.exited;

      const restarted = runCli(config);
      const { at: upAt } = await restarted.up;
      const took = await converge(restarted, expected(step.value), upAt);
      times.push(`${step.phase}: killed ${at} ms in, converged ${took} ms after restart`);
      assert.ok(
        took <= CONVERGE_MS,
        `${step.phase}: converged ${took} ms after restart (bound ${CONVERGE_MS})`,
      );
      cli = restarted;
    }
    // No orphans: the last instance knows every replica; with --stop-on-exit it stops them all.
    cli?.child.kill('SIGKILL');
    await cli?.exited;
    const last = runCli(config, ['--stop-on-exit']);
    await converge(last, expected(30), (await last.up).at);
    last.child.kill('SIGTERM');
    assert.equal(await last.exited, 0, last.stderr());
    assert.deepEqual(liveReplicas(name), [], 'replicas left behind');
    assert.deepEqual(recordIds(stateDir), [], 'records left behind');
  } finally {
    await sampler.stop();
    console.log(times.join('\n'));
  }
  assert.ok(sampler.samples > 50, `only ${sampler.samples} samples`);
  assert.deepEqual(sampler.over, [], `capacity exceeded (peak ${sampler.peak})`);
  assert.equal(sampler.peak, CAPACITY);
});
