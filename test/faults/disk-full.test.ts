// Disk full (and read-only) for the process back-end's state directory, on a real tiny tmpfs: a replica
// never runs without its record, the failed scale call reaches the controller's events, logs and state,
// and when space returns it recovers on its own.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Controller } from '../../src/controller/index.js';
import type { Logger, Source } from '../../src/core/ports.js';
import type { ControllerEvent, ServicePolicy } from '../../src/core/types.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { ProcessScheduler } from '../../src/schedulers/process/index.js';
import { replicaPids } from '../fixtures/process/proc.js';

const PAGE = 4096;
const SIZE = 8 * PAGE;
const root = process.getuid?.() === 0;
const skip =
  !root && process.env.CI !== 'true' ? 'mounting a tmpfs needs root (CI=true makes this a failure)' : false;

const mountPoint = mkdtempSync(join(tmpdir(), 'microscaler-diskfull-'));
let mounted = false;
const instances: string[] = [];

before(() => {
  if (skip) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', mountPoint]);
  mounted = true;
});
after(() => {
  // Whatever a failed test left running: every replica of the instances used here.
  for (const name of instances) for (const pid of replicaPids(name)) killGroup(pid);
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** A fresh state directory on the tmpfs, with its folders made while there is room. */
function stateDir(name: string): string {
  const dir = join(mountPoint, name);
  mkdirSync(join(dir, 'replicas'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  return dir;
}

/** Fills the tmpfs until exactly `leave` pages are free. */
function fill(leave: number): string {
  const path = join(mountPoint, 'fill');
  rmSync(path, { force: true });
  const used = Number(
    execFileSync('df', ['-B1', '--output=used', mountPoint], { encoding: 'utf8' }).split('\n')[1],
  );
  writeFileSync(path, Buffer.alloc(SIZE - used - leave * PAGE));
  return path;
}

function records(dir: string): string[] {
  return readdirSync(join(dir, 'replicas')).sort();
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level} ${message}`) };
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms}ms waiting for ${what}`);
    await delay(20);
  }
}

const instanceName = (tag: string) => {
  const name = `diskfull-${tag}-${process.pid}`;
  instances.push(name);
  return name;
};

const SLEEP = { command: ['sleep', '60'], stopGraceMs: 200 };

describe('disk full for the state directory (process back-end)', { skip }, () => {
  test('no room for the record: nothing is spawned, scale fails with ENOSPC; room again: it starts', async () => {
    const name = instanceName('pending');
    const dir = stateDir(name);
    const logger = recordingLogger();
    const s = await ProcessScheduler.create(
      { stateDir: dir },
      { clock: systemClock, logger, instance: name, services: [{ name: 'web', run: SLEEP }] },
    );
    const filler = fill(0);
    await assert.rejects(s.scale('web', 2, 'test'), (error: Error) => {
      assert.match(error.message, /cannot write its record in .*replicas: ENOSPC/);
      assert.match(error.message, /2 of 2 replicas failed/);
      return true;
    });
    assert.deepEqual(replicaPids(name), [], 'no replica runs untracked');
    assert.deepEqual(records(dir), []);
    assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });

    rmSync(filler);
    await s.scale('web', 2, 'room again');
    assert.equal(replicaPids(name).length, 2);
    assert.equal(records(dir).length, 2);
    await s.stopAll();
    await s.close();
    await waitFor('records removed', () => records(dir).length === 0);
  });

  test('room for the pending record but not for its pid: the spawned replica is killed at once', async () => {
    const name = instanceName('pid');
    const dir = stateDir(name);
    const s = await ProcessScheduler.create(
      { stateDir: dir },
      {
        clock: systemClock,
        logger: recordingLogger(),
        instance: name,
        // A grace far beyond the test: only an immediate SIGKILL ends it in time.
        services: [
          { name: 'web', run: { command: ['sh', '-c', 'trap "" TERM; sleep 60'], stopGraceMs: 60_000 } },
        ],
      },
    );
    const filler = fill(1); // one page: the pending record takes it, the completed one finds none
    await assert.rejects(s.scale('web', 1, 'test'), /cannot write its record in .*ENOSPC/);
    await waitFor(
      'the replica gone, with its record',
      () => replicaPids(name).length === 0 && records(dir).length === 0,
      3000,
    );
    assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
    rmSync(filler);
    await s.close();
  });

  test('a read-only state directory (EROFS): scale fails, nothing runs; writable again: it recovers', async () => {
    const name = instanceName('rofs');
    const dir = stateDir(name);
    const s = await ProcessScheduler.create(
      { stateDir: dir },
      {
        clock: systemClock,
        logger: recordingLogger(),
        instance: name,
        services: [{ name: 'web', run: SLEEP }],
      },
    );
    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    try {
      await assert.rejects(s.scale('web', 1, 'test'), /cannot write its record in .*EROFS/);
      assert.deepEqual(replicaPids(name), []);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
    }
    await s.scale('web', 1, 'writable again');
    assert.equal(replicaPids(name).length, 1);
    await s.stopAll();
    await s.close();
  });

  test('through the controller: the failure reaches events, logs and state, and it recovers when space returns', async () => {
    const name = instanceName('controller');
    const dir = stateDir(name);
    const logger = recordingLogger();
    const scheduler = await ProcessScheduler.create(
      { stateDir: dir },
      { clock: systemClock, logger, instance: name, services: [{ name: 'web', run: SLEEP }] },
    );
    const web: ServicePolicy = {
      name: 'web',
      priority: 1,
      min: 0,
      max: 5,
      rule: { type: 'fixed', replicas: 3 },
      resources: { cpu: 0, memory: 0 },
      scaleDownWindowMs: 0,
    };
    const controller = new Controller({
      name,
      capacity: { replicas: 5 },
      intervalMs: 50,
      readTimeoutMs: 500,
      services: [web],
      sources: new Map<string, Source>(),
      scheduler,
      clock: systemClock,
      logger,
    });
    const events: ControllerEvent[] = [];
    controller.subscribe((e) => events.push(e));
    const filler = fill(0);
    const loop = controller.start();
    try {
      // Sample the real world while the disk is full: never a replica without a record.
      const until = Date.now() + 800;
      while (Date.now() < until) {
        assert.deepEqual(replicaPids(name), [], 'a replica runs although its record could not be written');
        await delay(20);
      }
      const error = events.find((e) => e.kind === 'error' && e.service === 'web');
      assert.ok(error, `no error event in ${JSON.stringify(events)}`);
      assert.match(error.message, /scaling web to 3 failed: .*cannot write its record .*ENOSPC/);
      assert.ok(
        logger.lines.some((l) => l.startsWith('warn scaling web to 3 failed') && l.includes('ENOSPC')),
      );
      const status = controller.snapshot().services[0] as { scaleError?: string };
      assert.match(status.scaleError ?? '', /ENOSPC/, 'the state shows the failure');

      rmSync(filler);
      // Backoff after < 1 s of failures is at most 800 ms (100 ms doubling): recovery well within 5 s.
      await waitFor(
        '3 replicas with records',
        () => replicaPids(name).length === 3 && records(dir).length === 3,
        5000,
      );
      await waitFor(
        'a recovered event',
        () => events.some((e) => e.kind === 'recovered' && e.service === 'web'),
        2000,
      );
    } finally {
      await controller.drain(5000);
      await loop;
      await scheduler.close();
    }
    assert.deepEqual(replicaPids(name), []);
  });
});
