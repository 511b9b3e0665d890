// `run` as users start it twice: startInstance on the same config (same state folder), with `ha` set.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { serverGate, uniqueName } from '../sources/servers.js';

const skip = await serverGate('Redis', 6379);

type State = { leader?: { holder: string | null; self: boolean } };

async function state(instance: Instance): Promise<State> {
  const res = await fetch(`${instance.api?.url}/api/state`);
  return (await res.json()) as State;
}

describe('high availability through startInstance', { skip }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-ha-'));
  const key = uniqueName('microscaler-ha-instance');
  const admin = skip ? undefined : new Redis('redis://127.0.0.1:6379');
  const instances: Instance[] = [];
  after(async () => {
    await Promise.all(instances.map((i) => i.close({ drain: false })));
    await admin?.del(key);
    admin?.disconnect();
    rmSync(stateDir, { recursive: true, force: true });
  });
  // Demand 0: no replica is started; this is about who leads, as /api/state tells.
  const config = parseConfig(
    `
name: ha-test
capacity: { replicas: 2 }
scheduler: { type: process, stateDir: ${JSON.stringify(stateDir)} }
ha: { redis: "redis://127.0.0.1:6379", key: ${key}, ttl: 900ms }
services:
  web:
    run: { command: [sleep, "3600"] }
    demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 10 } }
`,
    { sourceSchemas, schedulerSchemas, env: {} },
  );
  const start = async () => {
    const instance = await startInstance({
      config,
      clock: systemClock,
      logger: silentLogger,
      baseDir: process.cwd(),
      listen: '127.0.0.1:0',
      env: {},
    });
    instances.push(instance);
    return instance;
  };

  test('/api/state of each instance tells who leads; closing the leader hands over', async () => {
    const first = await start();
    const deadline = Date.now() + 3000;
    while (!(await state(first)).leader?.self) {
      assert.ok(Date.now() < deadline, 'the first instance leads');
      await delay(20);
    }
    const second = await start();
    await delay(400);
    const id = first.leadership?.id;
    assert.deepEqual((await state(first)).leader, { holder: id, self: true });
    assert.deepEqual((await state(second)).leader, { holder: id, self: false });

    await first.close({ drain: false });
    instances.splice(instances.indexOf(first), 1);
    const handed = Date.now() + 900;
    while (!(await state(second)).leader?.self) {
      assert.ok(Date.now() < handed, 'the second instance leads within ttl');
      await delay(20);
    }
    assert.equal(await admin?.get(key), second.leadership?.id);
  });
});
