// The docker back-end on a real engine: containers of a service no longer in the config are adopted and
// reported (so that the controller counts them against capacity) and can only be stopped.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  schedulerContext,
  skipUnless,
  uniqueName,
  waitFor,
} from '../../../test/fixtures/docker/engine.js';
import { DockerScheduler, dockerSettingsSchema } from './scheduler.js';

const engine = await findEngine();
const settings = dockerSettingsSchema.parse({ network: 'none' });
const instances: string[] = [];
after(async () => {
  if (!engine.api) return;
  await Promise.all(
    instances.map((i) => removeContainers(engine.api as NonNullable<typeof engine.api>, i, [])),
  );
  engine.api.close();
});

describe('docker scheduler: a service removed from the config', skipUnless(engine), () => {
  test('its containers are adopted and reported, and can only be stopped', async () => {
    const api = needApi(engine);
    const name = uniqueName('ms-removed');
    instances.push(name);
    const before = await DockerScheduler.create(settings, schedulerContext(name, { web: {}, old: {} }));
    await before.scale('old', 2, 'the earlier config');
    await waitFor('2 running', async () => (await before.observe()).get('old')?.running === 2);
    await before.close(); // leaves them running

    const after = await DockerScheduler.create(settings, schedulerContext(name, { web: {} }));
    try {
      const seen = await after.observe();
      assert.deepEqual(seen.get('old'), { running: 2, starting: 0, stopping: 0, frozen: 0, warming: 0 });
      await assert.rejects(after.scale('old', 3, 'test'), /unknown service "old"/);
      await assert.rejects(after.scale('gone', 0, 'test'), /unknown service "gone"/);
      await after.scale('old', 0, 'removed from the config');
      assert.equal((await after.observe()).get('old')?.stopping, 2, 'counted as stopping until gone');
      await waitFor('the removed containers gone', async () => (await containersOf(api, name)).length === 0);
      assert.equal((await after.observe()).get('old'), undefined);
    } finally {
      await after.close();
    }
  });
});
