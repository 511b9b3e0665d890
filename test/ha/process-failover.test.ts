// High availability with the process back-end: two instances (each a process of its own, as two
// `microscaler run` would be) share one state folder and a real Redis lease. The leader is killed with
// SIGKILL in the middle of a scale-up; the follower takes over, knows every replica the old leader started
// (also those started after the follower itself started), and ends with exactly the planned number of
// processes, none doubled and none orphaned. The real world is sampled every ~20 ms from /proc.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { mulberry32 } from '../../src/core/random.js';
import { DemandServer } from '../fixtures/process/cli.js';
import { liveReplicas, recordIds } from '../fixtures/process/proc.js';
import { serverGate, uniqueName } from '../sources/servers.js';

const FIXTURE = new URL('../fixtures/process/ha-instance.ts', import.meta.url).pathname;
const skip = await serverGate('Redis', 6379);
const work = mkdtempSync(join(tmpdir(), 'microscaler-ha-process-'));
const stateDir = join(work, 'state');
const name = uniqueName('ha-process');
const key = `${name}:leader`;
const demand = new DemandServer();
const children: ChildProcess[] = [];
const seed = Number(process.env.MICROSCALER_CRASH_SEED ?? Date.now() % 1_000_000);

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of liveReplicas(name)) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await demand.close();
  rmSync(work, { recursive: true, force: true });
  if (!skip) {
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.del(key).catch(() => {});
    redis.disconnect();
  }
});

interface Member {
  readonly child: ChildProcess;
  leading(): boolean;
  readonly exited: Promise<number | null>;
}

function member(env: NodeJS.ProcessEnv = {}): Member {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, stateDir, name, key, demand.url('web')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
  children.push(child);
  let leading = false;
  child.stdout?.on('data', (d: Buffer) => {
    const lines = d.toString().trim().split('\n');
    leading = lines[lines.length - 1] === 'leader';
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, leading: () => leading, exited };
}

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!ok()) {
    if (Date.now() - started > ms) assert.fail(`${what}: not within ${ms} ms`);
    await delay(10);
  }
  return Date.now() - started;
}

/** Exactly n live web replicas, each with exactly one record, and no record without a live replica. */
function exactly(n: number): boolean {
  const live = liveReplicas(name);
  const records = recordIds(stateDir);
  return live.length === n && records.length === n && live.every((r) => records.includes(r.id));
}

describe('process back-end under high availability', { skip }, () => {
  test('the leader is killed -9 mid scale-up: the follower takes over and ends with exactly the plan, none doubled', async () => {
    console.log(`process failover test: seed ${seed} (MICROSCALER_CRASH_SEED=${seed} replays it)`);
    const random = mulberry32(seed);
    await demand.start();
    demand.set('web', 30);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, liveReplicas(name).length);
        await delay(20);
      }
    })();
    try {
      const a = member();
      await waitFor('A to lead', () => a.leading(), 10_000);
      await waitFor('3 replicas started by A', () => exactly(3), 5000);
      const b = member({ DRAIN: '1' });
      await delay(1500); // B is up and following (it started after A's replicas)
      assert.equal(b.leading(), false);

      // A scales up to 7, replicas B has never seen; it dies somewhere within that.
      demand.set('web', 70);
      const at = Math.floor(random() * 120);
      await delay(at);
      a.child.kill('SIGKILL');
      await a.exited;
      const took = await waitFor('B to take over', () => b.leading(), 5000);
      console.log(`killed A ${at} ms after the demand step; B led ${took} ms later`);
      await waitFor('exactly 7 replicas, each recorded once', () => exactly(7), 3000);
      // A few more ticks: had B missed one of A's replicas, it would have started a duplicate by now.
      await delay(500);
      assert.ok(exactly(7), `not exactly 7: ${JSON.stringify(liveReplicas(name))} ${recordIds(stateDir)}`);

      // B can stop what A started.
      demand.set('web', 20);
      await waitFor('B scales A’s replicas down to 2', () => exactly(2), 5000);

      // No orphans: B, draining on exit, stops everything, A's replicas included.
      b.child.kill('SIGTERM');
      assert.equal(await b.exited, 0);
      assert.deepEqual(liveReplicas(name), [], 'replicas left behind');
      assert.deepEqual(recordIds(stateDir), [], 'records left behind');
    } finally {
      sampling = false;
      await sampler;
    }
    assert.ok(peak <= 8, `capacity 8 exceeded: ${peak} replicas at once`);
    assert.equal(peak, 7);
  });
});
