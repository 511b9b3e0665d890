// Step response on real Docker (`node --import tsx bench/docker-step.ts [--rounds 3] [--image IMAGE]`).
// Capacity 20: `web` (priority 1, min 1) and `batch` (priority 2, the remainder). Web's demand jumps so that
// it needs 19; we time from the step until 19 web containers run, and count the peak of containers and
// batch churn, all from the engine's own event stream. Then the step back down. In the same run, the
// machine's own limit: 18 containers started by parallel `docker run -d` processes, with the same image,
// command, init process and network. Prints the ratio microscaler / bare docker.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { type Instance, startInstance } from '../src/cli/compose.js';
import { parseConfig } from '../src/config/load.js';
import { DockerApi } from '../src/infra/docker-api.js';
import { streamLogger } from '../src/infra/logger.js';
import { systemClock } from '../src/infra/system-clock.js';
import { schedulerSchemas } from '../src/schedulers/registry.js';
import { isPushSource } from '../src/sources/push.js';
import { sourceSchemas } from '../src/sources/registry.js';
import { removeContainers, TEST_IMAGE, uniqueName } from '../test/fixtures/docker/engine.js';
import { ContainerMonitor } from '../test/fixtures/docker/monitor.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, image: { type: 'string', default: TEST_IMAGE } },
});
const rounds = Number(values.rounds);
const image = values.image as string;
const STEP_TIMEOUT_MS = 120_000;

/** When, after the step, batch containers were removed and web containers created and started. */
function timeline(monitor: ContainerMonitor, from: number, to: number): string {
  const span = (action: 'create' | 'start' | 'destroy', service: string) => {
    const at = monitor.events.filter(
      (e) => e.action === action && e.service === service && e.at >= from && e.at <= to,
    );
    return at.length === 0 ? '-' : `${(at[0]?.at ?? 0) - from}..${(at.at(-1)?.at ?? 0) - from} ms`;
  };
  return `batch removed ${span('destroy', 'batch')}, web created ${span('create', 'web')}, started ${span('start', 'web')}`;
}

interface Round {
  timeline: string;
  upMs: number;
  downMs: number;
  bareMs: number;
  peakRunning: number;
  peakExisting: number;
  batchRemoved: number;
  batchCreated: number;
  downPeakExisting: number;
}

function config(name: string): string {
  const run = `{ image: ${JSON.stringify(image)}, command: [sleep, "3600"], stopGrace: 2s, pull: never }`;
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
    scaleDownWindow: 1s
    run: ${run}
    demand:
      source: { type: push }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    max: 20
    run: ${run}
    demand: { rule: { type: remainder } }
`;
}

function push(instance: Instance, value: number): void {
  const source = instance.sources.get('web');
  if (!source || !isPushSource(source)) throw new Error('web has no push source');
  source.push(value);
}

async function microscaler(api: DockerApi): Promise<Omit<Round, 'bareMs'>> {
  const name = uniqueName('bench-step');
  const monitor = new ContainerMonitor(api, name);
  await monitor.start();
  const instance = await startInstance({
    config: parseConfig(config(name), { file: 'bench.yaml', sourceSchemas, schedulerSchemas }),
    clock: systemClock,
    logger: streamLogger(process.stderr, { level: 'error' }),
    baseDir: process.cwd(),
  });
  const web = () => monitor.running.get('web') ?? 0;
  const batch = () => monitor.running.get('batch') ?? 0;
  try {
    push(instance, 10);
    await monitor.until(
      'web 1, batch 19',
      () => web() === 1 && batch() === 19 && monitor.totalExisting() === 20,
      STEP_TIMEOUT_MS,
    );
    // Settle, then start counting peaks from the steady state.
    await new Promise((r) => setTimeout(r, 1000));
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
const results: Round[] = [];
console.log(`== docker step response (capacity 20; web 1→19→1, batch the remainder; ${image}) ==`);
for (let i = 0; i < rounds; i++) {
  const m = await microscaler(api);
  const bareMs = await bare(api);
  const r = { ...m, bareMs };
  results.push(r);
  console.log(
    `round ${i + 1}: step up ${r.upMs} ms (bare docker run ×18: ${r.bareMs} ms, ratio ${(r.upMs / r.bareMs).toFixed(2)}); ` +
      `peak running ${r.peakRunning}, peak existing ${r.peakExisting}; batch removed ${r.batchRemoved}, recreated ${r.batchCreated}; ` +
      `step down ${r.downMs} ms (incl. 1 s scale-down window), peak existing ${r.downPeakExisting}`,
  );
  console.log(`  step up timeline: ${r.timeline}`);
}
const up = median(results.map((r) => r.upMs));
const bareMs = median(results.map((r) => r.bareMs));
console.log(
  `median: microscaler 1→19 in ${up} ms; bare docker run ×18 in ${bareMs} ms; ratio ${(up / bareMs).toFixed(2)} (target ≤ 1.0)`,
);
console.log(
  `worst: peak containers ${Math.max(...results.map((r) => Math.max(r.peakExisting, r.downPeakExisting)))} of 20 (Force12: 38); ` +
    `batch removed ${Math.max(...results.map((r) => r.batchRemoved))} (18 needed; Force12: 28), recreated while web waited ${Math.max(...results.map((r) => r.batchCreated))} (Force12: 10)`,
);
api.close();
