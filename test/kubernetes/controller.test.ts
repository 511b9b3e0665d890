// The Docker scenarios (scale up, preempt, scale down, a replica lost behind our back, restart) with the
// kubernetes back-end, against the fake API server of test/fakes/kube-api.ts: no real cluster runs here.
// The whole instance is built as startInstance builds it (config parsed with the kubernetes settings, a
// kubeconfig file with a token), and watched from the fake's side: pods created, terminating, and existing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildSources } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { Controller } from '../../src/controller/index.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { KubernetesScheduler, kubernetesSettingsSchema } from '../../src/schedulers/kubernetes.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { isPushSource } from '../../src/sources/push.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { FakeKubeApi } from '../fakes/kube-api.js';

const CAPACITY = 8;
const TOKEN = 'scenario-token';
let api: FakeKubeApi;
let dir: string;
let kubeconfig: string;

before(async () => {
  api = await FakeKubeApi.start();
  api.tokens.add(TOKEN);
  dir = mkdtempSync(join(tmpdir(), 'microscaler-kube-e2e-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: fake
contexts: [{ name: fake, context: { cluster: fake, user: me, namespace: shop } }]
clusters: [{ name: fake, cluster: { server: "${api.url}", certificate-authority-data: ${api.certs.ca.toString('base64')} } }]
users: [{ name: me, user: { token: ${TOKEN} } }]
`,
  );
});
after(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  readonly controller: Controller;
  readonly scheduler: KubernetesScheduler;
  push(value: number): void;
  stop(): Promise<void>;
}

/** The instance as startInstance wires it, with the kubernetes back-end (not yet in the registry). */
async function start(name: string): Promise<Running> {
  const yaml = `
name: ${name}
capacity: { replicas: ${CAPACITY} }
interval: 100ms
scheduler: { type: kubernetes, kubeconfig: ${kubeconfig} }
services:
  web:
    priority: 1
    min: 1
    scaleDownWindow: 500ms
    run: { workload: deployment/${name}-web }
    demand: { source: { type: push }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    run: { workload: statefulset/${name}-batch }
    demand: { rule: { type: remainder } }
`;
  const config = parseConfig(yaml, {
    file: 'test.yaml',
    sourceSchemas,
    schedulerSchemas: { ...schedulerSchemas, kubernetes: kubernetesSettingsSchema },
  });
  const logger = { log() {} };
  const { type: _type, ...settings } = config.scheduler;
  const scheduler = await KubernetesScheduler.create(kubernetesSettingsSchema.parse(settings), {
    clock: systemClock,
    logger,
    instance: config.name,
    services: config.services.map((s) => ({ name: s.name, run: s.run })),
  });
  const sources = await buildSources(config, systemClock, logger, dir);
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
  void controller.start();
  return {
    controller,
    scheduler,
    push(value) {
      const source = sources.get('web');
      assert.ok(source && isPushSource(source));
      source.push(value);
    },
    async stop() {
      await controller.stop();
      await scheduler.close();
      await Promise.all([...sources.values()].map((s) => s.close()));
    },
  };
}

function workloads(name: string): void {
  const labels = (service: string) => ({ 'microscaler.instance': name, 'microscaler.service': service });
  api.addWorkload({ namespace: 'shop', name: `${name}-web`, labels: labels('web') });
  api.addWorkload({
    namespace: 'shop',
    kind: 'statefulsets',
    name: `${name}-batch`,
    labels: labels('batch'),
  });
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now();
}

function count(owner: string, type: 'create' | 'terminate', from = 0, to = Number.POSITIVE_INFINITY): number {
  return api.podEvents.filter((e) => e.owner === owner && e.type === type && e.at >= from && e.at <= to)
    .length;
}

/** Scales everything to zero and stops; in `finally`, so it asserts nothing (that would hide the failure). */
async function drain(instance: Running): Promise<boolean> {
  try {
    return await instance.controller.drain(20_000);
  } finally {
    await instance.stop();
  }
}

function assertDrained(name: string): void {
  assert.deepEqual(api.pods(`${name}-web`), { ready: 0, starting: 0, terminating: 0 });
  assert.deepEqual(api.pods(`${name}-batch`), { ready: 0, starting: 0, terminating: 0 });
}

describe('kubernetes back-end under the controller (fake API server)', () => {
  test('priority 1 preempts priority 2 without ever exceeding capacity, and gives it back', async () => {
    const name = 'preempt';
    workloads(name);
    api.peakPods = 0;
    const instance = await start(name);
    const web = () => api.pods(`${name}-web`).ready;
    const batch = () => api.pods(`${name}-batch`).ready;
    try {
      instance.push(10);
      await until('web 1, batch 7', () => web() === 1 && batch() === CAPACITY - 1);

      const step = Date.now();
      instance.push(70); // web needs 7: batch must give up 6
      const reached = await until('web 7', () => web() === 7);
      assert.equal(
        count(`${name}-batch`, 'terminate', step, reached),
        6,
        'exactly the 6 needed were preempted',
      );
      assert.equal(count(`${name}-batch`, 'create', step, reached), 0, 'no batch refill while web waited');

      instance.push(10); // and back: batch refills once web's window has passed
      await until('web 1, batch 7 again', () => web() === 1 && batch() === CAPACITY - 1);
      assert.ok(api.peakPods <= CAPACITY, `${api.peakPods} pods (terminating included) existed at once`);
      assert.equal(instance.controller.snapshot().capacity.used, CAPACITY);
    } finally {
      await drain(instance);
    }
    assertDrained(name);
  });

  test('a pod deleted behind its back is replaced by Kubernetes, not by another scale', async () => {
    const name = 'lost';
    workloads(name);
    const instance = await start(name);
    try {
      instance.push(20);
      await until(
        'web 2, batch 6',
        () => api.pods(`${name}-web`).ready === 2 && api.pods(`${name}-batch`).ready === 6,
      );
      const patches = api.patches.filter((p) => p.includes(`${name}-web=`)).length;
      api.deletePod(`${name}-web`);
      await until('a replacement web pod, ready', () => {
        const p = api.pods(`${name}-web`);
        return p.ready === 2 && p.terminating === 0;
      });
      assert.equal(count(`${name}-web`, 'create'), 3, 'one replacement, no more');
      assert.equal(
        api.patches.filter((p) => p.includes(`${name}-web=`)).length,
        patches,
        'web was not rescaled',
      );
      await until('batch back to 6', () => api.pods(`${name}-batch`).ready === 6);
    } finally {
      await drain(instance);
    }
    assertDrained(name);
  });

  test('a restarted instance adopts the workloads as they are: nothing stopped, nothing started', async () => {
    const name = 'restart';
    workloads(name);
    const first = await start(name);
    first.push(30);
    await until(
      'web 3, batch 5',
      () => api.pods(`${name}-web`).ready === 3 && api.pods(`${name}-batch`).ready === 5,
    );
    await first.stop(); // replicas stay as they are
    const patches = api.patches.length;
    const events = api.podEvents.length;
    const second = await start(name);
    try {
      second.push(30);
      const seen = Date.now();
      await until('the new instance sees them', () => {
        const s = second.controller.snapshot().services;
        return (
          s.find((x) => x.name === 'web')?.running === 3 && s.find((x) => x.name === 'batch')?.running === 5
        );
      });
      // A few ticks more, to be sure it settles on what runs.
      await new Promise((r) => setTimeout(r, Math.max(0, 500 - (Date.now() - seen))));
      assert.equal(api.patches.length, patches, `no scale call: ${api.patches.slice(patches).join(', ')}`);
      assert.equal(api.podEvents.length, events, 'no pod started or stopped');
    } finally {
      await drain(second);
    }
    assertDrained(name);
  });

  test('scales down after the window and never touches an unlabelled workload in the namespace', async () => {
    const name = 'down';
    workloads(name);
    api.addWorkload({ namespace: 'shop', name: `${name}-other`, replicas: 2 });
    const instance = await start(name);
    try {
      instance.push(50);
      await until('web 5', () => api.pods(`${name}-web`).ready === 5);
      const step = Date.now();
      instance.push(0);
      const down = await until('web at min 1', () => api.pods(`${name}-web`).ready === 1);
      // The window runs from the last tick that saw the higher need, up to one interval before the push.
      assert.ok(down - step >= 400, `scaled down after ${down - step} ms, within the 500 ms window`);
      await until('batch takes the rest', () => api.pods(`${name}-batch`).ready === CAPACITY - 1);
    } finally {
      await drain(instance);
    }
    assertDrained(name);
    assert.equal(api.pods(`${name}-other`).ready, 2);
    assert.ok(!api.patches.some((p) => p.includes(`${name}-other`)));
  });
});
