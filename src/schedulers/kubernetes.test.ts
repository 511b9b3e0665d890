// The kubernetes back-end against the fake API server of test/fakes/kube-api.ts (no real cluster runs here).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeKubeApi } from '../../test/fakes/kube-api.js';
import { ConfigError } from '../core/errors.js';
import type { LogLevel } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import { systemClock } from '../infra/system-clock.js';
import type { KubeTarget } from './kube-config.js';
import { KubernetesScheduler, parseWorkload, selectorQuery } from './kubernetes.js';

const TOKEN = 'secret-token-do-not-print';
let api: FakeKubeApi;
let dir: string;
before(async () => {
  api = await FakeKubeApi.start();
  api.tokens.add(TOKEN);
  dir = mkdtempSync(join(tmpdir(), 'microscaler-kube-test-'));
});
after(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
/** A fresh instance name, so tests share the server without sharing workloads. */
function fresh(): string {
  return `t${++serial}`;
}

function labels(instance: string, service: string): Record<string, string> {
  return { 'microscaler.instance': instance, 'microscaler.service': service };
}

function context(instance: string, services: Record<string, string>, logs: string[] = []): SchedulerContext {
  return {
    clock: systemClock,
    logger: { log: (level: LogLevel, message: string) => logs.push(`${level}: ${message}`) },
    instance,
    services: Object.entries(services).map(([name, workload]) => ({ name, run: { workload } })),
  };
}

function target(overrides: Partial<KubeTarget['connection']> = {}): KubeTarget {
  return {
    connection: {
      server: api.url,
      ca: api.certs.ca,
      token: () => TOKEN,
      describe: 'test token',
      ...overrides,
    },
    namespace: undefined,
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('parseWorkload and selectorQuery', () => {
  test('reads the kinds and rejects what is not a workload name', () => {
    assert.deepEqual(parseWorkload('web'), { kind: 'deployment', name: 'web', label: 'deployment/web' });
    assert.equal(parseWorkload('statefulset/db')?.label, 'statefulset/db');
    assert.equal(parseWorkload('sts/db')?.kind, 'statefulset');
    assert.equal(parseWorkload('daemonset/x'), undefined);
    assert.equal(parseWorkload('Web'), undefined);
    assert.equal(parseWorkload('deployment/'), undefined);
  });

  test('turns a selector into the labelSelector grammar', () => {
    assert.equal(
      selectorQuery({
        matchLabels: { app: 'web', tier: 'front' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      }),
      'app=web,tier=front,env in (a,b),!x',
    );
  });
});

describe('kubernetes scheduler', () => {
  test('config problems are ConfigErrors naming each field, before any request', async () => {
    const before = api.requests.length;
    await assert.rejects(
      KubernetesScheduler.create({}, context('x', { a: '', b: 'daemonset/b' }), { target: target() }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 2 &&
        error.problems[0]?.startsWith('services.a.run.workload: required') === true &&
        error.problems[1]?.startsWith('services.b.run.workload: expected') === true,
    );
    assert.equal(api.requests.length, before);
  });

  test('refuses to start with a missing or unlabelled workload, naming each, touching nothing', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-other`, labels: labels('someone-else', 'web'), replicas: 2 });
    const patches = api.patches.length;
    await assert.rejects(
      KubernetesScheduler.create(
        {},
        context(instance, { web: `deployment/${instance}-other`, gone: `${instance}-gone` }),
        { target: target() },
      ),
      (error: Error) =>
        error.message.includes(
          `service web: deployment/${instance}-other in namespace default does not carry the label microscaler.instance=${instance}`,
        ) &&
        error.message.includes(
          `service gone: deployment/${instance}-gone in namespace default does not exist`,
        ),
    );
    assert.equal(api.patches.length, patches);
    assert.equal(api.workload(`${instance}-other`).replicas, 2);
  });

  test('scales a Deployment and a StatefulSet and observes starting, running and stopping pods', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    api.addWorkload({
      kind: 'statefulsets',
      name: `${instance}-db`,
      labels: labels(instance, 'db'),
      replicas: 1,
    });
    const s = await KubernetesScheduler.create(
      {},
      context(instance, { web: `${instance}-web`, db: `statefulset/${instance}-db` }),
      { target: target() },
    );
    try {
      assert.deepEqual((await s.observe()).get('db'), { running: 1, starting: 0, stopping: 0 });
      await s.scale('web', 3, 'test');
      // Accepted: counted as starting at once, before any pod exists.
      const up = (await s.observe()).get('web');
      assert.equal((up?.running ?? 0) + (up?.starting ?? 0), 3);
      assert.equal(up?.stopping, 0);
      await until('3 ready', async () => (await s.observe()).get('web')?.running === 3);
      api.terminateDelayMs = 1000; // long enough to see the terminating pods on a loaded machine
      await s.scale('web', 1, 'test');
      const down = (await s.observe()).get('web');
      assert.equal(down?.running, 1);
      // 2, or 4 when the controller acted between reading the workload and listing its pods: never fewer.
      assert.ok((down?.stopping ?? 0) >= 2, `surplus counted as stopping: ${JSON.stringify(down)}`);
      await until('the terminating pods counted from the pod list', async () => {
        const o = (await s.observe()).get('web');
        return api.pods(`${instance}-web`).terminating === 2 && o?.running === 1 && o.stopping === 2;
      });
      api.terminateDelayMs = 150;
      await until(
        'terminating pods gone',
        async () => (await s.observe()).get('web')?.stopping === 0,
        15_000,
      );
      await s.scale('db', 0, 'test');
      assert.equal(api.workload(`${instance}-db`, 'statefulsets').replicas, 0);
      const patches = api.patches.length;
      await s.scale('db', 0, 'again');
      assert.equal(api.patches.length, patches, 'idempotent: no write when the count is already right');
    } finally {
      await s.close();
    }
  });

  test('watch() names the service whose pods changed; unsubscribing ends the watches', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    api.addWorkload({ name: `${instance}-b`, labels: labels(instance, 'b') });
    const s = await KubernetesScheduler.create(
      {},
      context(instance, { web: `${instance}-web`, b: `${instance}-b` }),
      { target: target() },
    );
    const watchers = api.watchers;
    const seen: string[] = [];
    const unwatch = s.watch((service) => seen.push(service));
    try {
      await until('both watching', () => api.watchers === watchers + 2);
      seen.length = 0;
      await s.scale('web', 1, 'test');
      await until('the new pod reported', () => seen.includes('web'));
      assert.ok(!seen.includes('b'), 'no wake-up for the other service');
    } finally {
      unwatch();
      await until('watches ended', () => api.watchers === watchers);
      await s.close();
    }
  });

  test('a stale resourceVersion (409) is re-read and retried; too many give a clear error', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    const s = await KubernetesScheduler.create({}, context(instance, { web: `${instance}-web` }), {
      target: target(),
    });
    try {
      api.foreignWrites = 2;
      await s.scale('web', 2, 'test');
      assert.equal(api.workload(`${instance}-web`).replicas, 2);
      api.foreignWrites = 100;
      await assert.rejects(s.scale('web', 4, 'test'), /changed by someone else 8 times/);
      assert.equal(api.workload(`${instance}-web`).replicas, 2);
    } finally {
      api.foreignWrites = 0;
      await s.close();
    }
  });

  test('a workload that loses its label is not scaled, and its last counts are kept', async () => {
    const instance = fresh();
    const logs: string[] = [];
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web'), replicas: 2 });
    api.addWorkload({ name: `${instance}-b`, labels: labels(instance, 'b'), replicas: 1 });
    const s = await KubernetesScheduler.create(
      {},
      context(instance, { web: `${instance}-web`, b: `${instance}-b` }, logs),
      { target: target() },
    );
    try {
      await s.observe();
      api.relabel(`${instance}-web`, { app: 'web' });
      await assert.rejects(s.scale('web', 0, 'test'), /does not carry the label .*not scaling it/);
      assert.equal(api.workload(`${instance}-web`).replicas, 2);
      const seen = await s.observe();
      assert.deepEqual(seen.get('web'), { running: 2, starting: 0, stopping: 0 });
      assert.deepEqual(seen.get('b'), { running: 1, starting: 0, stopping: 0 }, 'the others still observed');
      await s.observe();
      assert.equal(logs.filter((l) => l.startsWith('warn:')).length, 1, 'warned once');
    } finally {
      await s.close();
    }
  });

  test('401 and 403 give clear errors that never show the token', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    const wrong = 'wrong-token-value';
    await assert.rejects(
      KubernetesScheduler.create({}, context(instance, { web: `${instance}-web` }), {
        target: target({ token: () => wrong }),
      }),
      (error: Error) =>
        /401 Unauthorized, test token\)/.test(error.message) && !error.message.includes(wrong),
    );
    const s = await KubernetesScheduler.create({}, context(instance, { web: `${instance}-web` }), {
      target: target(),
    });
    try {
      api.forbidden = true;
      await assert.rejects(s.scale('web', 1, 'test'), (error: Error) => {
        return (
          /forbidden \(403, test token\).*cannot get/.test(error.message) && !error.message.includes(TOKEN)
        );
      });
    } finally {
      api.forbidden = false;
      await s.close();
    }
  });

  test('a slow API server times out with a bounded, clear error', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    const s = await KubernetesScheduler.create({}, context(instance, { web: `${instance}-web` }), {
      target: target(),
      timeoutMs: 200,
    });
    try {
      api.delayMs = 2000;
      const started = Date.now();
      await assert.rejects(s.observe(), /timed out after 200 ms/);
      assert.ok(Date.now() - started < 1500, 'gave up near the timeout');
    } finally {
      api.delayMs = 0;
      await s.close();
    }
  });

  test('verifies the server against the CA; insecure-skip-tls-verify only when set', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    const ctx = context(instance, { web: `${instance}-web` });
    await assert.rejects(
      KubernetesScheduler.create({}, ctx, { target: target({ ca: api.certs.strangerCert }) }),
      /cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify)/i,
    );
    const s = await KubernetesScheduler.create({}, ctx, {
      target: target({ insecure: true, ca: undefined }),
    });
    await s.close();
  });

  test('client certificates: one the CA signed is accepted, another is not', async () => {
    const instance = fresh();
    api.addWorkload({ name: `${instance}-web`, labels: labels(instance, 'web') });
    const ctx = context(instance, { web: `${instance}-web` });
    const noToken = { token: () => undefined };
    const s = await KubernetesScheduler.create({}, ctx, {
      target: target({ ...noToken, cert: api.certs.clientCert, key: api.certs.clientKey }),
    });
    await s.scale('web', 1, 'test');
    await s.close();
    await assert.rejects(
      KubernetesScheduler.create({}, ctx, {
        target: target({ ...noToken, cert: api.certs.strangerCert, key: api.certs.strangerKey }),
      }),
      /401 Unauthorized/,
    );
  });

  test('in cluster: service-account token, CA and namespace; a rotated token is picked up', async () => {
    const instance = fresh();
    api.addWorkload({ namespace: 'apps', name: `${instance}-web`, labels: labels(instance, 'web') });
    const sa = join(dir, `${instance}-sa`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token-1');
    writeFileSync(join(sa, 'ca.crt'), api.certs.ca);
    writeFileSync(join(sa, 'namespace'), 'apps');
    api.tokens.add('sa-token-1');
    const port = new URL(api.url).port;
    const s = await KubernetesScheduler.create({}, context(instance, { web: `${instance}-web` }), {
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      serviceAccountDir: sa,
    });
    try {
      assert.equal(s.namespace, 'apps');
      await s.scale('web', 1, 'test');
      // The kubelet rotates the token and the old one is revoked.
      api.tokens.delete('sa-token-1');
      api.tokens.add('sa-token-2-longer');
      writeFileSync(join(sa, 'token'), 'sa-token-2-longer');
      await s.scale('web', 2, 'test');
      assert.equal(api.workload(`${instance}-web`, 'deployments', 'apps').replicas, 2);
    } finally {
      await s.close();
    }
  });
});
