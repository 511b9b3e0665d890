// The docker back-end on a real engine: the test image, unique instance names, everything removed after.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  schedulerContext,
  skipUnless,
  TEST_IMAGE,
  uniqueName,
  waitFor,
} from '../../../test/fixtures/docker/engine.js';
import { ConfigError } from '../../core/errors.js';
import { DockerScheduler, dockerSettingsSchema } from './scheduler.js';

const engine = await findEngine();
const settings = dockerSettingsSchema.parse({ network: 'none' });
const instances: string[] = [];
const extras: string[] = [];
after(async () => {
  if (!engine.api) return;
  await Promise.all(
    instances.map((i) => removeContainers(engine.api as NonNullable<typeof engine.api>, i, extras)),
  );
  engine.api.close();
});

function instance(prefix: string): string {
  const name = uniqueName(prefix);
  instances.push(name);
  return name;
}

const total = (o: { running: number; starting: number; stopping: number } | undefined) =>
  o ? o.running + o.starting + o.stopping : 0;

describe('docker scheduler', skipUnless(engine), () => {
  test('scales up and down; containers carry the labels, an init process and the limits', async () => {
    const api = needApi(engine);
    const name = instance('ms-scale');
    const s = await DockerScheduler.create(
      settings,
      schedulerContext(name, { web: { cpu: 0.25, memory: 32 * 1024 * 1024, env: { MODE: 'test' } } }),
    );
    try {
      await s.scale('web', 3, 'test');
      // Accepted at once: counted as starting before the engine has made them.
      const accepted = (await s.observe()).get('web');
      assert.equal((accepted?.starting ?? 0) + (accepted?.running ?? 0), 3);
      await waitFor('3 running', async () => (await s.observe()).get('web')?.running === 3);
      const rows = await containersOf(api, name, 'web');
      assert.equal(rows.filter((r) => r.State === 'running').length, 3);
      const { body } = await api.request<{
        Config: { Labels: Record<string, string>; Env: string[] };
        HostConfig: { Init: boolean; NanoCpus: number; Memory: number };
      }>('GET', `/containers/${rows[0]?.Id}/json`);
      assert.equal(body.Config.Labels['microscaler.instance'], name);
      assert.equal(body.Config.Labels['microscaler.service'], 'web');
      assert.ok(body.Config.Env.includes('MODE=test'));
      assert.equal(body.HostConfig.Init, true);
      assert.equal(body.HostConfig.NanoCpus, 250_000_000);
      assert.equal(body.HostConfig.Memory, 32 * 1024 * 1024);

      await s.scale('web', 1, 'test');
      // Surplus counts as stopping until removed: capacity is held until the container is gone.
      const stopping = (await s.observe()).get('web');
      assert.equal(stopping?.stopping, 2);
      await waitFor('2 removed', async () => (await containersOf(api, name)).length === 1);
      assert.deepEqual((await s.observe()).get('web'), {
        running: 1,
        starting: 0,
        stopping: 0,
        frozen: 0,
        warming: 0,
      });
    } finally {
      await s.stopAll();
      await s.close();
    }
    assert.equal((await containersOf(api, name)).length, 0);
  });

  test('a container killed behind its back is noticed at once and removed', async () => {
    const api = needApi(engine);
    const name = instance('ms-kill');
    const s = await DockerScheduler.create(settings, schedulerContext(name, { web: {} }));
    const changes: string[] = [];
    s.watch((service) => changes.push(service));
    try {
      await s.scale('web', 2, 'test');
      await waitFor('2 running', async () => (await s.observe()).get('web')?.running === 2);
      const [victim] = await containersOf(api, name);
      changes.length = 0;
      await api.request('POST', `/containers/${victim?.Id}/kill`);
      // observe() asks the engine nothing: only the event stream can tell it.
      await waitFor('the kill noticed', async () => (await s.observe()).get('web')?.running === 1, 5000);
      assert.ok(changes.includes('web'), 'watchers were told');
      await waitFor('the dead container removed', async () => (await containersOf(api, name)).length === 1);
      assert.deepEqual((await s.observe()).get('web'), {
        running: 1,
        starting: 0,
        stopping: 0,
        frozen: 0,
        warming: 0,
      });
    } finally {
      await s.stopAll();
      await s.close();
    }
  });

  test('adopts labelled containers after a restart, and never touches unlabelled look-alikes', async () => {
    const api = needApi(engine);
    const name = instance('ms-adopt');
    // Look-alikes: our naming scheme without labels, and labels of another instance.
    const lookAlikes: string[] = [];
    for (const [suffix, labels] of [
      ['web-lookalike', {}],
      ['web-other', { 'microscaler.instance': `${name}-other`, 'microscaler.service': 'web' }],
      ['web-nosvc', { 'microscaler.service': 'web' }],
    ] as const) {
      const { body } = await api.request<{ Id: string }>('POST', '/containers/create', {
        query: { name: `${name}-${suffix}` },
        body: {
          Image: TEST_IMAGE,
          Cmd: ['sleep', '3600'],
          Labels: labels,
          HostConfig: { Init: true, NetworkMode: 'none' },
        },
      });
      await api.request('POST', `/containers/${body.Id}/start`);
      lookAlikes.push(body.Id);
      extras.push(body.Id);
    }

    const first = await DockerScheduler.create(settings, schedulerContext(name, { web: {}, batch: {} }));
    await first.scale('web', 2, 'test');
    await first.scale('batch', 1, 'test');
    await waitFor('3 running', async () => {
      const o = await first.observe();
      return o.get('web')?.running === 2 && o.get('batch')?.running === 1;
    });
    const before = (await containersOf(api, name)).map((r) => r.Id).sort();
    await first.close(); // leaves them running

    const second = await DockerScheduler.create(settings, schedulerContext(name, { web: {}, batch: {} }));
    try {
      const seen = await second.observe();
      assert.deepEqual(seen.get('web'), { running: 2, starting: 0, stopping: 0, frozen: 0, warming: 0 });
      assert.deepEqual(seen.get('batch'), { running: 1, starting: 0, stopping: 0, frozen: 0, warming: 0 });
      assert.ok(second.list().every((c) => c.adopted));
      assert.deepEqual(
        second
          .list()
          .map((c) => c.id)
          .sort(),
        before,
      );
      await second.scale('web', 0, 'test');
      await second.stopAll();
    } finally {
      await second.close();
    }
    assert.equal((await containersOf(api, name)).length, 0);
    for (const id of lookAlikes) {
      const { body } = await api.request<{ State: { Running: boolean } }>('GET', `/containers/${id}/json`);
      assert.equal(body.State.Running, true, 'a look-alike without our labels is still running');
    }
  });

  test('a command that exits at once is reported and held back, not restarted in a tight loop', async () => {
    const name = instance('ms-crash');
    const s = await DockerScheduler.create(settings, schedulerContext(name, { web: { command: ['false'] } }));
    try {
      // As the controller would: ask again whenever the replica is gone. Each failure lengthens the wait.
      const errors: string[] = [];
      let accepted = 0;
      await waitFor(
        'two refusals in a row',
        async () => {
          if (total((await s.observe()).get('web')) > 0) return false;
          try {
            await s.scale('web', 1, 'test');
            accepted++;
          } catch (error) {
            errors.push((error as Error).message);
          }
          return errors.some((e) => /\(2 time\(s\) in a row/.test(e));
        },
        20_000,
      );
      assert.match(errors[0] ?? '', /containers of web exit right after starting with code 1/);
      assert.ok(accepted >= 2 && accepted <= 4, `accepted ${accepted} attempts`);
    } finally {
      await s.stopAll();
      await s.close();
    }
  });

  test('a missing image with pull policy never is reported clearly and blocks only scale-ups', async () => {
    const name = instance('ms-never');
    const logs: string[] = [];
    const s = await DockerScheduler.create(
      settings,
      schedulerContext(name, { web: { image: `microscaler/absent:${name}`, pull: 'never' } }, logs),
    );
    try {
      await assert.rejects(
        s.scale('web', 1, 'test'),
        /image "microscaler\/absent:.*" of service web is not available: not present on the engine and its pull policy is "never"/,
      );
      assert.ok(logs.some((l) => l.startsWith('error image microscaler/absent')));
      await s.scale('web', 0, 'test');
    } finally {
      await s.close();
    }
  });

  test('every service needs an image', () => {
    assert.throws(
      () =>
        new DockerScheduler(settings, { ...schedulerContext('x', {}), services: [{ name: 'web', run: {} }] }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.join() === 'services.web.run.image: required by the docker scheduler',
    );
  });
});
