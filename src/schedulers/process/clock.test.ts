// The process back-end keeps time by the injected clock: a replica's start time (its id, its record) is
// the clock's wall time, and durations are read from the clock's now().
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Clock } from '../../core/ports.js';
import { systemClock } from '../../infra/system-clock.js';
import { ProcessScheduler } from './index.js';
import { wallTime } from './records.js';

test('wallTime: the clock wall time, or its now() when it has none', () => {
  const cases: [string, Clock, number][] = [
    ['wall', { now: () => 5, wall: () => 7, sleep: async () => {} }, 7],
    ['no wall', { now: () => 5, sleep: async () => {} }, 5],
  ];
  for (const [name, clock, want] of cases) assert.equal(wallTime(clock), want, name);
});

test('a replica started with an injected clock has its wall time as start time, in its id and record', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-clock-'));
  const at = 1_700_000_000_000;
  let nows = 0;
  const clock: Clock = {
    now: () => {
      nows++;
      return systemClock.now();
    },
    wall: () => at,
    sleep: systemClock.sleep,
  };
  const s = await ProcessScheduler.create(
    { stateDir: dir },
    {
      clock,
      logger: { log() {} },
      instance: 'clock-test',
      services: [{ name: 'web', run: { command: ['sleep', '30'], stopGraceMs: 200 } }],
    },
  );
  try {
    await s.scaleWithPool('web', { replicas: 0, frozen: 1 }, 'warm');
    const [r] = s.list();
    assert.ok(r);
    assert.equal(r.state, 'frozen');
    assert.equal(r.startedAt, at);
    assert.ok(r.id.startsWith(`${at.toString(36)}-`), r.id);
    const record = JSON.parse(readFileSync(join(dir, 'replicas', `${r.id}.json`), 'utf8')) as {
      startedAt: number;
    };
    assert.equal(record.startedAt, at);
    assert.ok(nows > 0, 'durations are read from the clock');
    await s.stopAll();
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
});
