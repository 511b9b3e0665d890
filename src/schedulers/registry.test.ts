import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../core/errors.js';
import { canFreeze, type Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import { systemClock } from '../infra/system-clock.js';
import { ProcessScheduler } from './process/index.js';
import { createScheduler, freezingSchedulers, resourceSchedulers, schedulerSchemas } from './registry.js';

const ctx: SchedulerContext = {
  clock: systemClock,
  logger: { log() {} },
  instance: 'test',
  services: [{ name: 'web', run: { command: ['sleep', '30'] } }],
};

function configError(problems: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems, problems);
    return true;
  };
}

test('an unknown scheduler type is a config error that lists the known ones', async () => {
  await assert.rejects(
    createScheduler({ type: 'x' }, ctx),
    configError([
      'scheduler.type: unknown scheduler "x" (known: process, docker, swarm, kubernetes, nomad, marathon, ecs)',
    ]),
  );
  // Not fooled by names every object has.
  await assert.rejects(createScheduler({ type: 'toString' }, ctx), ConfigError);
});

test('settings are validated against the back-end schema', async () => {
  assert.deepEqual(Object.keys(schedulerSchemas), [
    'process',
    'docker',
    'swarm',
    'kubernetes',
    'nomad',
    'marathon',
    'ecs',
  ]);
  assert.equal(schedulerSchemas.docker?.safeParse({ concurrency: 0 }).success, false);
  assert.equal(schedulerSchemas.swarm?.safeParse({ host: 'unix:///x.sock' }).success, true);
  assert.equal(schedulerSchemas.process?.safeParse({ stateDir: '/tmp/x' }).success, true);
  await assert.rejects(
    createScheduler({ type: 'process', stateDir: '/tmp/x', color: 'red' }, ctx),
    configError(['scheduler.color: unknown setting']),
  );
  await assert.rejects(createScheduler({ type: 'process', stateDir: 42 }, ctx), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 1);
    assert.match(error.problems[0] ?? '', /^scheduler\.stateDir: /);
    return true;
  });
});

test('type process builds a ProcessScheduler on the given state directory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-registry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const scheduler = await createScheduler({ type: 'process', stateDir: dir }, ctx);
  assert.ok(scheduler instanceof ProcessScheduler);
  assert.equal(scheduler.stateDir, dir);
  assert.deepEqual((await scheduler.observe(AbortSignal.timeout(1000))).get('web'), {
    running: 0,
    starting: 0,
    stopping: 0,
  });
  await scheduler.close();
});

test('the back-ends that freeze are those whose class has scaleWithPool (canFreeze), in registry order', () => {
  assert.deepEqual([...freezingSchedulers], ['process', 'docker']);
  const plain: Scheduler = {
    observe: async () => new Map(),
    scale: async () => {},
    close: async () => {},
  };
  assert.equal(canFreeze(plain), false);
  assert.equal(canFreeze({ ...plain, scaleWithPool: async () => {} } as Scheduler), true);
});

test('the back-ends that report their machines are those whose class has resources(); one-machine ones have no nodes', () => {
  assert.deepEqual(resourceSchedulers, {
    process: { nodes: false },
    docker: { nodes: false },
    swarm: { nodes: true },
    kubernetes: { nodes: true },
    nomad: { nodes: true },
  });
});
