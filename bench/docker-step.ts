// Step response on real Docker (`node --import tsx bench/docker-step.ts [--rounds 3] [--image IMAGE]
// [--modes cold,warm-stop,warm-freeze]`).
// Capacity 20: `web` (priority 1, min 1) and `batch` (priority 2, the remainder). Web's demand jumps so that
// it needs 19; we time from the step until 19 web containers run (started, not paused), and count the peak
// of containers and batch churn, all from the engine's own event stream. Then the step back down. In the
// same run, the machine's own limit: 18 containers started by parallel `docker run -d` processes, with the
// same image, command, init process and network. Prints the ratio microscaler / bare docker.
//
// Three ways in one run (issue 9), each a fresh instance with its own config:
// - cold: as above; every replica web gains is created and started, batch's are stopped;
// - warm-stop: web keeps `warm: 18` frozen (paused) replicas; batch `preempt: stop`;
// - warm-freeze: the same, and batch `preempt: freeze` (its preempted replicas are paused, not stopped).
// In the warm modes the pool must be full before the step: web first runs at 19 (batch 1), then drops to 1,
// and its surplus is frozen into the pool while batch takes the remainder back; the step starts once web
// has 1 running and 18 frozen, batch 19 running, nothing in between, for a second. Each mode's time is
// printed with its ratio to the cold run's (aim ≤ 0.1). Before the rounds: the back-end alone, unpausing
// 18 paused containers against creating and starting 18, through DockerScheduler.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { type Instance, startInstance } from '../src/cli/compose.js';
import type { LoadedConfig } from '../src/config/load.js';
import { parseConfig } from '../src/config/load.js';
import { DockerApi } from '../src/infra/docker-api.js';
import { streamLogger } from '../src/infra/logger.js';
import { systemClock } from '../src/infra/system-clock.js';
import { DockerScheduler, dockerSettingsSchema } from '../src/schedulers/docker/scheduler.js';
import { schedulerSchemas } from '../src/schedulers/registry.js';
import { isPushSource } from '../src/sources/push.js';
import { sourceSchemas } from '../src/sources/registry.js';
import {
  removeContainers,
  schedulerContext,
  TEST_IMAGE,
  uniqueName,
} from '../test/fixtures/docker/engine.js';
import { ContainerMonitor } from '../test/fixtures/docker/monitor.js';

const MODES = ['cold', 'warm-stop', 'warm-freeze'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    image: { type: 'string', default: TEST_IMAGE },
    modes: { type: 'string', default: MODES.join(',') },
  },
});
const rounds = Number(values.rounds);
const image = values.image as string;
const modes = (values.modes as string).split(',').map((m) => {
  if (!(MODES as readonly string[]).includes(m))
    throw new Error(`--modes: unknown mode ${m} (${MODES.join(', ')})`);
  return m as Mode;
});
const STEP_TIMEOUT_MS = 120_000;

/** When, after the step, batch containers were removed and web containers created and started. */
function timeline(monitor: ContainerMonitor, from: number, to: number): string {
  const span = (action: 'create' | 'start' | 'destroy' | 'pause' | 'unpause', service: string) => {
    const at = monitor.events.filter(
      (e) => e.action === action && e.service === service && e.at >= from && e.at <= to,
    );
    return at.length === 0 ? '-' : `${(at[0]?.at ?? 0) - from}..${(at.at(-1)?.at ?? 0) - from} ms`;
  };
  return (
    `batch paused ${span('pause', 'batch')}, removed ${span('destroy', 'batch')}; ` +
    `web unpaused ${span('unpause', 'web')}, created ${span('create', 'web')}, started ${span('start', 'web')}`
  );
}

interface Step {
  timeline: string;
  upMs: number;
  downMs: number;
  peakRunning: number;
  peakExisting: number;
  batchRemoved: number;
  batchCreated: number;
  batchPaused: number;
  webCreated: number;
  webUnpaused: number;
  downPeakExisting: number;
}

function config(name: string, mode: Mode): string {
  const run = `{ image: ${JSON.stringify(image)}, command: [sleep, "3600"], stopGrace: 2s, pull: never }`;
  const warm = mode === 'cold' ? '' : '\n    warm: 18';
  const preempt =
    mode === 'warm-freeze' ? '\n    preempt: freeze' : mode === 'warm-stop' ? '\n    preempt: stop' : '';
  return `
name: ${name}
capacity: { replicas: 20 }
interval: 100ms
scheduler: { type: docker }
services:
  web:
    priority: 1
    min: 1
    max: 19
    scaleDownWindow: 1s${warm}
    run: ${run}
    demand:
      source: { type: push }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    max: 20${preempt}
    run: ${run}
    demand: { rule: { type: remainder } }
`;
}

function load(name: string, mode: Mode): LoadedConfig {
  return parseConfig(config(name, mode), { file: 'bench.yaml', sourceSchemas, schedulerSchemas });
}

/** Why a mode cannot run with this build (its config keys not wired yet), or undefined. */
function unsupported(mode: Mode): string | undefined {
  try {
    load('probe', mode);
    return undefined;
  } catch (error) {
    return String((error as Error).message ?? error)
      .split('\n')
      .slice(0, 3)
      .join('; ');
  }
}

/** What `POST /api/services/web/demand` does: the value, and the loop nudged to act on it now. */
function push(instance: Instance, value: number): void {
  const source = instance.sources.get('web');
  if (!source || !isPushSource(source)) throw new Error('web has no push source');
  source.push(value);
  instance.controller.nudge();
}

async function microscaler(api: DockerApi, mode: Mode): Promise<Step> {
  const name = uniqueName(`bench-${mode}`);
  const monitor = new ContainerMonitor(api, name);
  await monitor.start();
  const instance = await startInstance({
    config: load(name, mode),
    clock: systemClock,
    logger: streamLogger(process.stderr, { level: 'error' }),
    baseDir: process.cwd(),
  });
  const web = () => monitor.running.get('web') ?? 0;
  const batch = () => monitor.running.get('batch') ?? 0;
  const webFrozen = () => monitor.frozen.get('web') ?? 0;
  // Nothing being created, started, stopped or removed: every container runs or is paused.
  const still = () => monitor.totalExisting() === monitor.totalRunning() + monitor.totalFrozen();
  const steady =
    mode === 'cold'
      ? () => web() === 1 && batch() === 19 && monitor.totalExisting() === 20
      : () => web() === 1 && webFrozen() === 18 && batch() === 19 && still();
  const what = mode === 'cold' ? 'web 1, batch 19' : 'web 1 + 18 frozen, batch 19';
  try {
    if (mode !== 'cold') {
      // Fill the pool: web busy first (19), then quiet (1): its surplus is frozen into the pool.
      push(instance, 190);
      await monitor.until('warm-up: web 19', () => web() === 19, STEP_TIMEOUT_MS);
    }
    push(instance, 10);
    await monitor.until(what, steady, STEP_TIMEOUT_MS);
    // Settle (the same state for a second), then start counting peaks from the steady state.
    await settle(monitor, what, steady);
    monitor.peakRunning = monitor.totalRunning();
    monitor.peakExisting = monitor.totalExisting();

    const up = Date.now();
    push(instance, 190);
    const upDone = await monitor.until('web 19', () => web() === 19, STEP_TIMEOUT_MS);
    const result = {
      upMs: upDone - up,
      peakRunning: monitor.peakRunning,
      peakExisting: monitor.peakExisting,
      batchRemoved: monitor.count('destroy', 'batch', up, upDone),
      batchCreated: monitor.count('create', 'batch', up, upDone),
      batchPaused: monitor.count('pause', 'batch', up, upDone),
      webCreated: monitor.count('create', 'web', up, upDone),
      webUnpaused: monitor.count('unpause', 'web', up, upDone),
      timeline: timeline(monitor, up, upDone),
    };
    await new Promise((r) => setTimeout(r, 1000));
    monitor.peakExisting = monitor.totalExisting();
    const down = Date.now();
    push(instance, 10);
    const downDone = await monitor.until(
      'web 1, batch 19',
      () => web() === 1 && batch() === 19,
      STEP_TIMEOUT_MS,
    );
    return { ...result, downMs: downDone - down, downPeakExisting: monitor.peakExisting };
  } finally {
    await instance.close({ drain: true });
    monitor.stop();
    await removeContainers(api, name);
  }
}

/** Waits until the condition has held for a whole second. */
async function settle(monitor: ContainerMonitor, what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let since = Date.now();
  while (Date.now() - since < 1000) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to hold for a second`);
    if (!ok()) {
      await monitor.until(what, ok, STEP_TIMEOUT_MS);
      since = Date.now();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The back-end alone: unpause 18 paused containers vs create and start 18, timed to the engine's events. */
async function backend(api: DockerApi): Promise<{ thawMs: number; thawCallMs: number; coldMs: number }> {
  const name = uniqueName('bench-thaw');
  const monitor = new ContainerMonitor(api, name);
  await monitor.start();
  const ctx = schedulerContext(name, { web: { image } });
  const s = await DockerScheduler.create(dockerSettingsSchema.parse({}), {
    ...ctx,
    logger: streamLogger(process.stderr, { level: 'error' }),
  });
  const web = () => monitor.running.get('web') ?? 0;
  try {
    await s.scaleWithPool('web', { replicas: 0, frozen: 18 }, 'bench: fill');
    await monitor.until('18 paused', () => (monitor.frozen.get('web') ?? 0) === 18, STEP_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, 500));
    let t = Date.now();
    await s.scaleWithPool('web', { replicas: 18, frozen: 0 }, 'bench: thaw');
    const thawCallMs = Date.now() - t;
    const thawMs = (await monitor.until('18 running', () => web() === 18, STEP_TIMEOUT_MS)) - t;
    await s.stopAll();
    await monitor.until('all removed', () => monitor.totalExisting() === 0, STEP_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, 500));
    t = Date.now();
    await s.scale('web', 18, 'bench: cold');
    const coldMs = (await monitor.until('18 running', () => web() === 18, STEP_TIMEOUT_MS)) - t;
    await s.stopAll();
    return { thawMs, thawCallMs, coldMs };
  } finally {
    await s.close();
    monitor.stop();
    await removeContainers(api, name);
  }
}

/** 18 `docker run -d` processes at once; resolves when the last has returned (its container started). */
async function bare(api: DockerApi): Promise<number> {
  const name = uniqueName('bench-bare');
  const started = Date.now();
  try {
    const codes = await Promise.all(
      Array.from(
        { length: 18 },
        () =>
          new Promise<number | null>((resolve) => {
            const child = spawn(
              'docker',
              ['run', '-d', '--init', '--label', `microscaler.instance=${name}`, image, 'sleep', '3600'],
              { stdio: 'ignore' },
            );
            child.on('error', () => resolve(-1));
            child.on('close', resolve);
          }),
      ),
    );
    const took = Date.now() - started;
    if (codes.some((c) => c !== 0)) throw new Error(`docker run failed: exit codes ${codes.join(', ')}`);
    return took;
  } finally {
    await removeContainers(api, name);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const api = DockerApi.fromEnv();
try {
  await api.request('GET', `/images/${image}/json`);
} catch (error) {
  console.error(
    `bench: needs a docker engine and the image ${image} (scripts/build-test-image.sh): ${error}`,
  );
  process.exit(1);
}
const results = new Map<Mode, Step[]>();
const bares: number[] = [];
const skipped = new Map<Mode, string>();
for (const mode of modes) {
  const why = unsupported(mode);
  if (why) skipped.set(mode, why);
}
console.log(`== docker step response (capacity 20; web 1→19→1, batch the remainder; ${image}) ==`);
for (const [mode, why] of skipped) console.log(`${mode}: not run: the config does not take it yet (${why})`);
const b = await backend(api);
console.log(
  `back-end alone (DockerScheduler, concurrency 8): unpause 18 paused containers in ${b.thawMs} ms ` +
    `(scale() resolved after ${b.thawCallMs} ms); create+start 18 in ${b.coldMs} ms; ratio ${(b.thawMs / b.coldMs).toFixed(3)}`,
);
const run = modes.filter((m) => !skipped.has(m));
for (let i = 0; i < rounds; i++) {
  for (const mode of run) {
    const r = await microscaler(api, mode);
    results.set(mode, [...(results.get(mode) ?? []), r]);
    console.log(
      `round ${i + 1} ${mode}: step up ${r.upMs} ms; web unpaused ${r.webUnpaused}, created ${r.webCreated}; ` +
        `batch paused ${r.batchPaused}, removed ${r.batchRemoved}, recreated ${r.batchCreated}; ` +
        `peak running ${r.peakRunning}, peak existing ${r.peakExisting} (frozen included); ` +
        `step down ${r.downMs} ms (incl. 1 s scale-down window), peak existing ${r.downPeakExisting}`,
    );
    console.log(`  step up timeline: ${r.timeline}`);
  }
  const bareMs = await bare(api);
  bares.push(bareMs);
  console.log(`round ${i + 1}: bare docker run ×18: ${bareMs} ms`);
}
const bareMs = median(bares);
const cold = results.get('cold');
const coldUp = cold ? median(cold.map((r) => r.upMs)) : undefined;
console.log(`median: bare docker run ×18 in ${bareMs} ms`);
for (const mode of run) {
  const rs = results.get(mode) ?? [];
  const up = median(rs.map((r) => r.upMs));
  const vsCold =
    coldUp === undefined
      ? ''
      : mode === 'cold'
        ? ''
        : `; ratio to cold ${(up / coldUp).toFixed(3)} (aim ≤ 0.1)`;
  console.log(
    `median ${mode}: 1→19 web running in ${up} ms; ratio to bare docker run ${(up / bareMs).toFixed(2)}${vsCold}`,
  );
}
if (cold) {
  console.log(
    `worst cold: peak containers ${Math.max(...cold.map((r) => Math.max(r.peakExisting, r.downPeakExisting)))} of 20 (Force12: 38); ` +
      `batch removed ${Math.max(...cold.map((r) => r.batchRemoved))} (18 needed; Force12: 28), recreated while web waited ${Math.max(...cold.map((r) => r.batchCreated))} (Force12: 10)`,
  );
}
api.close();
