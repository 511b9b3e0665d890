// The ecs back-end through the real AWS SDK, pointed at test/fakes/ecs-api.ts with dummy credentials.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FakeEcs } from '../../test/fakes/ecs-api.js';
import { ConfigError, TransientError } from '../core/errors.js';
import type { SchedulerContext } from '../core/registry.js';
import { systemClock } from '../infra/system-clock.js';
import { type EcsDeps, EcsScheduler } from './ecs.js';

const OURS = (service: string) => ({ 'microscaler.instance': 'shop', 'microscaler.service': service });

function ctx(workloads: Record<string, string | undefined>): SchedulerContext {
  return {
    clock: systemClock,
    logger: { log() {} },
    instance: 'shop',
    services: Object.entries(workloads).map(([name, workload]) => ({
      name,
      run: workload ? { workload } : {},
    })),
  };
}

const deps = (accessKeyId = 'AKIDFAKE', timeoutMs?: number): EcsDeps => ({
  clientConfig: { credentials: { accessKeyId, secretAccessKey: 'fake-secret-key' } },
  ...(timeoutMs ? { timeoutMs } : {}),
});

async function until(what: string, f: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fakes: FakeEcs[] = [];
const schedulers: EcsScheduler[] = [];
after(async () => {
  await Promise.all(schedulers.map((s) => s.close()));
  await Promise.all(fakes.map((f) => f.close()));
});

async function fake(): Promise<{
  ecs: FakeEcs;
  settings: { cluster: string; region: string; endpoint: string };
}> {
  const ecs = new FakeEcs({ startMs: 100, stopMs: 200 });
  fakes.push(ecs);
  ecs.addService('web', { desiredCount: 1, tags: OURS('web') });
  ecs.addService('other', { desiredCount: 2 });
  return { ecs, settings: { cluster: 'prod', region: 'us-east-1', endpoint: await ecs.start() } };
}

async function create(settings: Parameters<typeof EcsScheduler.create>[0], c: SchedulerContext, d = deps()) {
  const s = await EcsScheduler.create(settings, c, d);
  schedulers.push(s);
  return s;
}

describe('ecs scheduler', () => {
  test('scales an owned service and counts pending, running and stopping tasks', async () => {
    const { ecs, settings } = await fake();
    const s = await create(settings, ctx({ web: 'web' }));
    await until('1 running', async () => (await s.observe()).get('web')?.running === 1);
    await s.scale('web', 3, 'need 3');
    assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 2, stopping: 0 });
    await until('3 running', async () => (await s.observe()).get('web')?.running === 3);
    await s.scale('web', 1, 'less');
    assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 2 });
    await until('stopped', async () => (await s.observe()).get('web')?.stopping === 0);
    assert.deepEqual(
      ecs.updates.map((u) => u.service),
      ['web', 'web'],
    );
  });

  test('refuses a service without our tags, and never scales it', async () => {
    const { ecs, settings } = await fake();
    await assert.rejects(
      create(settings, ctx({ web: 'other' })),
      /not scaling ECS service other: it is not labelled/,
    );
    assert.equal(ecs.updates.length, 0);
  });

  test('a missing service or cluster is named', async () => {
    const { settings } = await fake();
    await assert.rejects(
      create(settings, ctx({ web: 'nope' })),
      /ECS service nope not found in cluster prod \(services.web.run.workload\)/,
    );
    await assert.rejects(create({ ...settings, cluster: 'staging' }, ctx({ web: 'web' })), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.problems[0] ?? '', /^scheduler.cluster: ECS cluster staging not found/);
      return true;
    });
  });

  test('unknown and read-only credentials are auth errors without the keys', async () => {
    const { ecs, settings } = await fake();
    await assert.rejects(create(settings, ctx({ web: 'web' }), deps('AKIDWRONG')), (e: Error) => {
      assert.match(e.message, /AWS refused cluster prod \(UnrecognizedClientException/);
      assert.doesNotMatch(e.message, /fake-secret-key|AKIDWRONG/);
      return true;
    });
    ecs.readOnlyKeys.add('AKIDVIEWER');
    const viewer = await create(settings, ctx({ web: 'web' }), deps('AKIDVIEWER'));
    await assert.rejects(
      viewer.scale('web', 2, 'x'),
      /AWS refused cluster prod, service web \(AccessDeniedException/,
    );
    assert.equal(ecs.service('web').desiredCount, 1);
  });

  test('throttling and slow answers are transient', async () => {
    const { ecs, settings } = await fake();
    const s = await create(settings, ctx({ web: 'web' }));
    const throttle = {
      action: 'UpdateService',
      type: 'ThrottlingException',
      message: 'Rate exceeded',
      status: 400,
    };
    // The SDK's one retry meets the second throttle; the third is left.
    ecs.failures.push(throttle, throttle, throttle);
    await assert.rejects(
      s.scale('web', 2, 'x'),
      (e: Error) => e instanceof TransientError && /Rate exceeded/.test(e.message),
    );
    assert.equal(ecs.failures.length, 1, 'two attempts, no more');
    const impatient = await create(settings, ctx({ web: 'web' }), deps('AKIDFAKE', 150));
    ecs.delayMs = 500;
    await assert.rejects(
      impatient.observe(),
      (e: Error) => e instanceof TransientError && /did not answer in time/.test(e.message),
    );
  });
});
