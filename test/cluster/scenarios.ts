// The controller scenarios of test/docker/controller.test.ts (scale up, preempt within capacity, scale
// down, restart adopts) run against a cluster back-end and its fake API. Each back-end's test file gives
// a Cluster; the fake counts tasks that exist at once (starting, running or still stopping).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSources } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { Controller } from '../../src/controller/index.js';
import type { Scheduler, Source } from '../../src/core/ports.js';
import type { SchedulerContext } from '../../src/core/registry.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { isPushSource } from '../../src/sources/push.js';
import { sourceSchemas } from '../../src/sources/registry.js';

export const CAPACITY = 6;
export const INSTANCE = 'shop';

export interface Cluster {
  /** Builds the back-end (again after a restart) for these services' workloads. */
  scheduler(ctx: SchedulerContext): Promise<Scheduler>;
  /** The `run.workload` of each service. */
  readonly workloads: { readonly web: string; readonly batch: string };
  /** Running tasks of a service, as the fake sees them. */
  running(service: 'web' | 'batch'): number;
  /** Ids of the tasks that exist now. */
  taskIds(): string[];
  /** The most tasks that existed at once since the fake started. */
  peakExisting(): number;
  close(): Promise<void>;
}

interface Running {
  controller: Controller;
  scheduler: Scheduler;
  sources: ReadonlyMap<string, Source>;
  loop: Promise<void>;
}

async function startController(cluster: Cluster): Promise<Running> {
  const yaml = `
name: ${INSTANCE}
capacity: { replicas: ${CAPACITY} }
interval: 100ms
scheduler: { type: process }
services:
  web:
    priority: 1
    min: 1
    scaleDownWindow: 500ms
    run: { workload: "${cluster.workloads.web}" }
    demand: { source: { type: push }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    run: { workload: "${cluster.workloads.batch}" }
    demand: { rule: { type: remainder } }
`;
  // The scheduler type is the process one only to pass validation; the back-end under test is built below.
  const config = parseConfig(yaml, { file: 'cluster.yaml', sourceSchemas, schedulerSchemas });
  const logger = { log() {} };
  const sources = await buildSources(config, systemClock, logger, process.cwd());
  const scheduler = await cluster.scheduler({
    clock: systemClock,
    logger,
    instance: config.name,
    services: config.services.map((s) => ({ name: s.name, run: s.run })),
  });
  const controller = new Controller({
    name: config.name,
    capacity: config.capacity,
    intervalMs: config.intervalMs,
    readTimeoutMs: config.readTimeoutMs,
    services: config.services,
    sources,
    scheduler,
    clock: systemClock,
    logger,
  });
  return { controller, scheduler, sources, loop: controller.start() };
}

async function stopController(r: Running, drain: boolean): Promise<void> {
  if (drain) await r.controller.drain();
  else await r.controller.stop();
  await r.loop;
  await r.scheduler.close();
  await Promise.all([...r.sources.values()].map((s) => s.close()));
}

function push(r: Running, value: number): void {
  const source = r.sources.get('web');
  assert.ok(source && isPushSource(source));
  source.push(value);
}

async function until(what: string, f: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Registers the scenarios; `make` builds a fresh fake cluster for each. */
export function clusterScenarios(make: () => Promise<Cluster>): void {
  test('scale up, preempt priority 2 within capacity (counting stopping tasks), scale down', async () => {
    const cluster = await make();
    const r = await startController(cluster);
    const web = () => cluster.running('web');
    const batch = () => cluster.running('batch');
    try {
      push(r, 10);
      await until('web 1, batch 5', () => web() === 1 && batch() === CAPACITY - 1);
      push(r, 40); // web needs 4: batch gives up 3, and web's tasks wait for theirs to be gone
      await until('web 4, batch 2', () => web() === 4 && batch() === CAPACITY - 4);
      push(r, 10);
      await until('web 1, batch 5 again', () => web() === 1 && batch() === CAPACITY - 1);
      assert.ok(cluster.peakExisting() <= CAPACITY, `${cluster.peakExisting()} tasks existed at once`);
    } finally {
      await stopController(r, true);
      await cluster.close();
    }
    assert.equal(web() + batch(), 0, 'drain stopped everything');
  });

  test('a restarted microscaler adopts the counts it finds and leaves the tasks alone', async () => {
    const cluster = await make();
    let r = await startController(cluster);
    try {
      push(r, 20);
      await until('web 2, batch 4', () => cluster.running('web') === 2 && cluster.running('batch') === 4);
      const before = cluster.taskIds().sort();
      await stopController(r, false);
      r = await startController(cluster);
      push(r, 20);
      // Several ticks with the same demand: nothing started or stopped.
      await new Promise((res) => setTimeout(res, 800));
      const snapshot = r.controller.snapshot();
      assert.deepEqual(
        snapshot.services.map((s) => [s.name, s.running]),
        [
          ['web', 2],
          ['batch', 4],
        ],
      );
      assert.deepEqual(cluster.taskIds().sort(), before, 'the same tasks still run');
    } finally {
      await stopController(r, true);
      await cluster.close();
    }
  });
}
