import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplicaStore } from '../replicas.js';
import type { SimContext, SimService, SimSetup } from '../setup.js';
import type { WorkModel } from '../work.js';
import { force12Policy } from './force12.js';

const base = { min: 0, resources: { cpu: 0, memory: 0 }, scaleDownWindowMs: 2000 };
const fakeDemand = {} as SimService['demand'];

function setup() {
  const services: SimService[] = [
    // 1 unit/s per replica: one message is 0.3 units.
    {
      ...base,
      name: 'web',
      priority: 1,
      max: 10,
      rule: { type: 'queue', perReplicaRate: 1, drainSeconds: 1 },
      demand: fakeDemand,
      perReplicaRate: 1,
    },
    {
      ...base,
      name: 'batch',
      priority: 2,
      max: 10,
      rule: { type: 'remainder' },
      demand: undefined,
      perReplicaRate: 0,
    },
  ];
  const sim = { capacity: 10, services, stepMs: 100 } as unknown as SimSetup;
  const store = new ReplicaStore(
    ['web', 'batch'],
    { kind: 'fixed', ms: 200 },
    { kind: 'fixed', ms: 1200 },
    1,
  );
  const backlog = new Float64Array(2);
  const ctx: SimContext = { setup: sim, store, work: { backlog } as unknown as WorkModel };
  const policy = force12Policy()(ctx);
  const at = (ms: number) => {
    store.advance(ms);
    policy.step(ms, ms / 100);
  };
  return { store, backlog, at };
}

describe('Force12 agent', () => {
  test('the remainder fills capacity; a queue above target preempts it, and uses the capacity a tick later', () => {
    const { store, backlog, at } = setup();
    at(0);
    // web: err = 0 − 50 → delta round(−2), already at min; batch: ideal running + max = 10, MaxDelta 10.
    assert.equal(store.active(0), 0);
    assert.equal(store.active(1), 10);
    at(500);
    assert.equal(store.ready[1], 10);
    // 100 messages (30 units): delta = floor(0.04·50 + 1.25·(100 − 0) + 0.5) = 127 → capped at max 10. Nothing
    // is available: batch is told to drop 10, web gets nothing this tick.
    backlog[0] = 30;
    at(1000);
    assert.equal(store.active(0), 0);
    assert.equal(store.stoppingCount(1), 10);
    // Next tick: the derivative is gone (still 100 messages): delta = floor(0.04·50 + 0.5) = 2. Batch's stops
    // are in flight, but Requested counts none of them, so web starts 2 while 10 batch replicas still stop.
    at(1500);
    assert.equal(store.active(0), 2);
    assert.equal(store.occupied(), 12); // capacity 10: overshoot
    // Batch has stopped (1.2 s): it is not in flight any more, and refills what web leaves.
    at(2500);
    assert.equal(store.active(1), 10 - store.active(0));
  });

  test('scales a queue task down only at or below 70 % of the target length', () => {
    const { store, backlog, at } = setup();
    backlog[0] = 0.3 * 60; // 60 messages
    at(0); // web: delta = floor(0.04·10 + 0.5) = 0 (no velocity yet) → nothing; batch fills.
    assert.equal(store.active(0), 0);
    backlog[0] = 0.3 * 80; // 80 messages: delta = floor(0.04·30 + 1.25·20 + 0.5) = 26; preempts batch
    at(500);
    // Then floor(0.04·30 + 0.5) = 1 per tick: +1 at 1.0 s, 1.5 s and 2.0 s.
    at(1000);
    at(1500);
    at(2000);
    assert.equal(store.active(0), 3);
    // 40 messages: at most 50 (meeting: no scale-up), above 35 (not exceeding: no scale-down): web holds.
    backlog[0] = 0.3 * 40;
    at(2500);
    at(3000);
    assert.equal(store.active(0), 3);
    // 30 messages: exceeding; delta = floor(0.04·(−20) + 1.25·(−10) + 0.5) = −13, clamped at min 0.
    backlog[0] = 0.3 * 30;
    at(3500);
    assert.equal(store.active(0), 0);
  });
});
