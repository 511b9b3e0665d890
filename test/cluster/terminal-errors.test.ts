// A back-end's 401, 403, 404 or "not labelled as ours" is terminal: the controller reports it once (state,
// events, log) and does not call again, on a timer or otherwise, until something changes (the service's
// settings, or the object as the back-end observes it). Against the fake Kubernetes API
// (test/fakes/kube-api.ts) with the real kubernetes back-end and the real controller.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Controller } from '../../src/controller/index.js';
import { TerminalError, TransientError } from '../../src/core/errors.js';
import type { Scheduler } from '../../src/core/ports.js';
import type { ControllerEvent, ServicePolicy } from '../../src/core/types.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { EcsScheduler } from '../../src/schedulers/ecs.js';
import { KubernetesScheduler } from '../../src/schedulers/kubernetes.js';
import { MarathonScheduler } from '../../src/schedulers/marathon.js';
import { NomadScheduler } from '../../src/schedulers/nomad.js';
import { FakeEcs } from '../fakes/ecs-api.js';
import { FakeKubeApi } from '../fakes/kube-api.js';
import { FakeMarathon } from '../fakes/marathon-api.js';
import { FakeNomad } from '../fakes/nomad-api.js';

const TOKEN = 'terminal-errors-token';
let api: FakeKubeApi;
before(async () => {
  api = await FakeKubeApi.start();
  api.tokens.add(TOKEN);
});
after(async () => {
  await api.stop();
});

let serial = 0;
const labels = (instance: string) => ({ 'microscaler.instance': instance, 'microscaler.service': 'web' });

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'fixed', replicas: 3 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};

/** The kubernetes back-end for one Deployment (1 replica), behind a wrapper that counts scale calls. */
async function setup() {
  const instance = `terminal-${process.pid}-${++serial}`;
  const workload = `${instance}-web`;
  api.addWorkload({ name: workload, labels: labels(instance), replicas: 1 });
  const lines: string[] = [];
  const logger = { log: (level: string, message: string) => lines.push(`${level} ${message}`) };
  const kube = await KubernetesScheduler.create(
    {},
    { clock: systemClock, logger, instance, services: [{ name: 'web', run: { workload } }] },
    {
      target: {
        connection: { server: api.url, ca: api.certs.ca, token: () => TOKEN, describe: 'test token' },
        namespace: undefined,
      },
    },
  );
  const scales: number[] = [];
  const scheduler: Scheduler = {
    observe: (signal) => kube.observe(signal),
    scale: (service, replicas, reason) => {
      scales.push(replicas);
      return kube.scale(service, replicas, reason);
    },
    revision: (service) => kube.revision(service),
    close: () => kube.close(),
  };
  const events: ControllerEvent[] = [];
  const controller = new Controller({
    name: instance,
    capacity: { replicas: 10 },
    intervalMs: 50,
    readTimeoutMs: 1000,
    services: [web],
    sources: new Map(),
    scheduler,
    clock: systemClock,
    logger,
  });
  controller.subscribe((e) => events.push(e));
  /** Ticks for `ms` of real time, one every 50 ms: longer than the backoff's first few retries. */
  const ticks = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await controller.tick();
      await delay(50);
    }
  };
  return { workload, instance, kube, controller, scales, events, lines, ticks };
}

describe('terminal errors from a back-end (fake Kubernetes API)', () => {
  test('a 403 is called once over many ticks, reported once, and a change of the service clears it', async () => {
    const { workload, kube, controller, scales, events, lines, ticks } = await setup();
    try {
      api.forbidScalePatch = true;
      await ticks(2500);
      assert.deepEqual(scales, [3], 'one call, never retried');
      const errors = events.filter((e) => e.kind === 'error');
      assert.equal(errors.length, 1, 'one error event');
      assert.match(errors[0]?.message ?? '', /forbidden \(403.*not retried until/);
      assert.equal(lines.filter((l) => /^warn .*403/.test(l)).length, 1, 'one warning');
      assert.match(controller.snapshot().services[0]?.scaleError ?? '', /403/);
      assert.equal(api.workload(workload).replicas, 1);

      // Permission granted: nothing tells microscaler, so it still holds; a change of the service retries.
      api.forbidScalePatch = false;
      await ticks(300);
      assert.equal(scales.length, 1);
      controller.update('web', { max: 9 });
      await ticks(300);
      assert.deepEqual(scales, [3, 3]);
      assert.equal(api.workload(workload).replicas, 3);
      assert.equal(controller.snapshot().services[0]?.scaleError, undefined);
      assert.ok(events.some((e) => e.kind === 'recovered'));
    } finally {
      api.forbidScalePatch = false;
      await controller.stop();
      await kube.close();
    }
  });

  test('a workload not labelled as ours is called once; labelling it again (a new resourceVersion) clears it', async () => {
    const { workload, instance, kube, controller, scales, ticks } = await setup();
    try {
      await kube.observe();
      api.relabel(workload, { app: 'someone-else' });
      await ticks(2500);
      assert.deepEqual(scales, [3], 'one call, never retried');
      assert.match(controller.snapshot().services[0]?.scaleError ?? '', /does not carry the label/);
      assert.equal(api.workload(workload).replicas, 1);

      api.relabel(workload, labels(instance));
      await ticks(500);
      assert.deepEqual(scales, [3, 3], 'tried again once the object changed');
      assert.equal(api.workload(workload).replicas, 3);
    } finally {
      await controller.stop();
      await kube.close();
    }
  });

  test('a transient error keeps being retried with backoff', async () => {
    const { kube, controller, scales, ticks } = await setup();
    try {
      api.delayMs = 0;
      const original = kube.scale.bind(kube);
      let failures = 0;
      kube.scale = async (service, replicas, reason) => {
        if (failures++ < 3) throw new Error('connection reset');
        return original(service, replicas, reason);
      };
      await ticks(2500);
      assert.ok(scales.length >= 4, `retried: ${scales.length} calls`);
      assert.equal(controller.snapshot().services[0]?.scaleError, undefined);
    } finally {
      await controller.stop();
      await kube.close();
    }
  });
});

const ours = (service: string) => ({ 'microscaler.instance': 'shop', 'microscaler.service': service });
const shopContext = (workload: string) => ({
  clock: systemClock,
  logger: { log() {} },
  instance: 'shop',
  services: [{ name: 'web', run: { workload } }],
});

describe('terminal errors from the other cluster back-ends (fakes)', () => {
  test('nomad: a 403 (the ACL token no longer allows scaling) is asked once under the controller', async () => {
    const nomad = new FakeNomad({ startMs: 50, stopMs: 50 });
    nomad.addJob('shop', { web: { count: 1, meta: ours('web') } });
    const address = await nomad.start();
    nomad.token = 'good';
    const s = await NomadScheduler.create({ address, token: 'good' }, shopContext('shop/web'), { env: {} });
    let calls = 0;
    const counted: Scheduler = {
      observe: (signal) => s.observe(signal),
      scale: (service, replicas, reason) => {
        calls++;
        return s.scale(service, replicas, reason);
      },
      close: () => s.close(),
    };
    const controller = new Controller({
      name: 'shop',
      capacity: { replicas: 10 },
      intervalMs: 50,
      readTimeoutMs: 1000,
      services: [web],
      sources: new Map(),
      scheduler: counted,
      clock: systemClock,
      logger: { log() {} },
    });
    try {
      // The job's one task runs first: a count that changes (starting to running) is a change of the
      // object, which rightly releases a hold, and would make this test race the fake's start time.
      while ((await s.observe(AbortSignal.timeout(1000))).get('web')?.running !== 1) await delay(10);
      // Scaling is refused for good (403, as Nomad answers a token without scale-job); reads still work.
      nomad.failures.push({ method: 'POST', path: /\/scale$/, status: 403, body: 'Permission denied' });
      await assert.rejects(s.scale('web', 2, 'test'), TerminalError);
      for (let i = 0; i < 5; i++)
        nomad.failures.push({ method: 'POST', path: /\/scale$/, status: 403, body: 'Permission denied' });
      const end = Date.now() + 2500;
      while (Date.now() < end) {
        await controller.tick();
        await delay(50);
      }
      assert.equal(calls, 1, 'one call, never retried');
      assert.match(controller.snapshot().services[0]?.scaleError ?? '', /HTTP 403.*not retried until/);
    } finally {
      await controller.stop();
      await s.close();
      await nomad.close();
    }
  });

  test('marathon: 401, 403 and 404 answers are TerminalErrors, a 503 is transient', async () => {
    const marathon = new FakeMarathon({ startMs: 50, stopMs: 50 });
    marathon.addApp('/shop/web', { instances: 1, labels: ours('web') });
    const url = await marathon.start();
    const s = await MarathonScheduler.create({ url }, shopContext('/shop/web'));
    try {
      for (const [status, kind] of [
        [401, TerminalError],
        [403, TerminalError],
        [404, TerminalError],
        [503, TransientError],
      ] as const) {
        marathon.failures.push({
          method: 'GET',
          path: /\/v2\/apps/,
          status,
          body: { message: `HTTP ${status}` },
        });
        await assert.rejects(s.scale('web', 2, 'test'), kind, `HTTP ${status}`);
      }
      marathon.app('/shop/web').labels = {};
      await assert.rejects(s.scale('web', 2, 'test'), TerminalError, 'not labelled as ours');
    } finally {
      await s.close();
      await marathon.close();
    }
  });

  test('ecs: refused credentials and a service without our tags are TerminalErrors', async () => {
    const ecs = new FakeEcs({ startMs: 50, stopMs: 50 });
    ecs.addService('web', { desiredCount: 1, tags: ours('web') });
    const endpoint = await ecs.start();
    ecs.readOnlyKeys.add('AKIDVIEWER');
    const s = await EcsScheduler.create(
      { cluster: 'prod', region: 'us-east-1', endpoint },
      shopContext('web'),
      { clientConfig: { credentials: { accessKeyId: 'AKIDVIEWER', secretAccessKey: 'fake-secret' } } },
    );
    try {
      const terminal = (pattern: RegExp) => (e: unknown) =>
        e instanceof TerminalError && pattern.test(e.message);
      await assert.rejects(s.scale('web', 2, 'test'), terminal(/AccessDenied/));
      // The key may write again; the service loses its tags.
      ecs.readOnlyKeys.delete('AKIDVIEWER');
      ecs.keys.add('AKIDVIEWER');
      ecs.service('web').tags = {};
      await assert.rejects(
        s.scale('web', 2, 'test'),
        terminal(/not scaling ECS service web: .*not labelled/),
      );
      assert.equal(ecs.service('web').desiredCount, 1);
      ecs.service('web').tags = ours('web');
      // A 404 without an ECS error type (an endpoint that is not ECS) is terminal too; throttling is transient.
      ecs.failures.push({ action: 'DescribeServices', type: '', message: 'Not Found', status: 404 });
      await assert.rejects(s.scale('web', 2, 'test'), terminal(/HTTP 404 from http/));
      for (let i = 0; i < 5; i++) {
        ecs.failures.push({
          action: 'DescribeServices',
          type: 'ThrottlingException',
          message: 'Rate exceeded',
          status: 400,
        });
      }
      await assert.rejects(s.scale('web', 2, 'test'), TransientError);
      ecs.failures.length = 0;
      await s.scale('web', 2, 'test');
      assert.equal(ecs.service('web').desiredCount, 2, 'scales once the endpoint answers again');
    } finally {
      await s.close();
      await ecs.close();
    }
  });
});
