// The soak's checks must be able to fail: each is shown here flagging a plan (or a back-end change) that
// breaks its promise, and passing one that keeps it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ControllerSnapshot } from '../../src/controller/index.js';
import type { ServicePolicy } from '../../src/core/types.js';
import { SoakClock } from './clock.js';
import { Invariants, type SignalState } from './invariants.js';
import { SoakScheduler } from './scheduler.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 1, memory: 0 },
  scaleDownWindowMs: 2000,
};
const batch: ServicePolicy = {
  name: 'batch',
  priority: 2,
  min: 1,
  max: 10,
  rule: { type: 'remainder' },
  resources: { cpu: 1, memory: 0 },
  scaleDownWindowMs: 2000,
};
const capacity = { replicas: 10, cpu: 10 };

interface Row {
  desired: number;
  need: number;
  error?: string;
}

function snapshot(w: Row, b: Row): ControllerSnapshot {
  const state = (s: ServicePolicy, r: Row) => ({
    name: s.name,
    priority: s.priority,
    min: s.min,
    max: s.max,
    value: null,
    running: r.desired,
    starting: 0,
    stopping: 0,
    ...r,
  });
  return {
    time: '',
    name: 'x',
    capacity: { ...capacity, used: 0 },
    services: [state(web, w), state(batch, b)],
  };
}

function checker(signal: (name: string) => SignalState = () => undefined): Invariants {
  return new Invariants({
    services: [web, batch],
    capacity,
    intervalMs: 100,
    reportWithinMs: 6500,
    signal,
  });
}

const flags = (found: string[], pattern: RegExp) =>
  assert.ok(
    found.some((f) => pattern.test(f)),
    `expected ${pattern}, got ${JSON.stringify(found)}`,
  );

test('a plan that keeps every promise passes', () => {
  const c = checker();
  assert.deepEqual(c.check(0, snapshot({ desired: 8, need: 8 }, { desired: 2, need: 10 })), []);
  // need fell to 3, held by the window for 2 s, then down
  assert.deepEqual(c.check(1000, snapshot({ desired: 8, need: 3 }, { desired: 2, need: 10 })), []);
  assert.deepEqual(c.check(2100, snapshot({ desired: 8, need: 3 }, { desired: 2, need: 10 })), []);
  assert.deepEqual(c.check(3100, snapshot({ desired: 3, need: 3 }, { desired: 7, need: 10 })), []);
});

test('over capacity, above max or not whole is flagged', () => {
  flags(checker().check(0, snapshot({ desired: 8, need: 8 }, { desired: 3, need: 10 })), /over capacity/);
  flags(checker().check(0, snapshot({ desired: 11, need: 11 }, { desired: 0, need: 10 })), /above max/);
  flags(checker().check(0, snapshot({ desired: 2.5, need: 3 }, { desired: 1, need: 10 })), /whole number/);
});

test('a lower priority holding what a higher one needed is flagged, and so is a remainder left short', () => {
  flags(
    checker().check(0, snapshot({ desired: 4, need: 8 }, { desired: 6, need: 10 })),
    /web: desired 4 below its need 8 with room/,
  );
  flags(
    checker().check(0, snapshot({ desired: 2, need: 2 }, { desired: 5, need: 10 })),
    /batch: desired 5 below its need 10 with room/,
  );
});

test('a min that fitted but was not given is flagged', () => {
  flags(checker().check(0, snapshot({ desired: 2, need: 2 }, { desired: 0, need: 10 })), /below its min/);
});

test('scaling down before need stayed lower for the whole window is flagged', () => {
  const c = checker();
  c.check(0, snapshot({ desired: 8, need: 8 }, { desired: 2, need: 10 }));
  flags(
    c.check(500, snapshot({ desired: 3, need: 3 }, { desired: 7, need: 10 })),
    /scaled down 8→3 though need was 8 500ms ago/,
  );
});

test('a need lowered, or moving, while the source fails is flagged', () => {
  const c = checker();
  c.check(0, snapshot({ desired: 8, need: 8 }, { desired: 2, need: 10 }));
  flags(
    c.check(100, snapshot({ desired: 5, need: 5, error: 'down' }, { desired: 5, need: 10 })),
    /need fell 8→5 when its source failed/,
  );
  flags(
    c.check(200, snapshot({ desired: 4, need: 4, error: 'down' }, { desired: 6, need: 10 })),
    /need moved 5→4 while its source fails/,
  );
});

test('a source failing past the bound and not reported, or healthy and still reported, is flagged', () => {
  const failing = checker(() => ({ failing: true, since: 0 }));
  assert.deepEqual(failing.check(6000, snapshot({ desired: 8, need: 8 }, { desired: 2, need: 10 })), []);
  flags(failing.check(6600, snapshot({ desired: 8, need: 8 }, { desired: 2, need: 10 })), /not reported/);
  const healthy = checker(() => ({ failing: false, since: 0 }));
  flags(
    healthy.check(7000, snapshot({ desired: 8, need: 8, error: 'x' }, { desired: 2, need: 10 })),
    /still reported/,
  );
});

test('the soak back-end flags capacity exceeded, a second call in flight and an unknown service', async () => {
  const found: string[] = [];
  const clock = new SoakClock();
  const scheduler = new SoakScheduler({
    instance: 'me',
    services: [web, batch],
    capacity: { replicas: 3 },
    clock,
    random: () => 0.5,
    delayMs: [10, 10],
    staleObserve: false,
    foreign: new Map([['web', 2]]),
    violation: (what) => found.push(what),
  });
  await scheduler.scale('web', 3);
  assert.deepEqual(found, []);
  assert.equal(scheduler.occupied().replicas, 3, "the other instance's replicas do not count");
  await scheduler.scale('batch', 1);
  flags(found, /4 replicas occupy a capacity of 3/);
  scheduler.scaleMode = 'slow-ack';
  const first = scheduler.scale('web', 0);
  const second = scheduler.scale('web', 0);
  flags(found, /second scale\(web\)/);
  await assert.rejects(scheduler.scale('legacy', 1));
  flags(found, /does not run/);
  clock.advanceTo(10_000);
  await Promise.all([first, second]);
  assert.deepEqual([...scheduler.foreign()], [['web', 2]]);
});
