import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DemandReplay } from './demand.js';
import { WorkModel } from './work.js';

describe('work model', () => {
  test('conserves work: arrived = served + backlog at every step', () => {
    const demand = new DemandReplay({ step: 1, demand: [10, 50, 0, 30, 80, 5, 0, 0] }, 1);
    const work = new WorkModel([{ priority: 1, demand, perReplicaRate: 12 }], 100, 1000);
    const ready = new Int32Array(1);
    for (let k = 0; k < 80; k++) {
      ready[0] = (k * 7) % 5; // replicas come and go
      work.step(k, ready);
      const arrived = work.arrived[0] as number;
      assert.ok(Math.abs(arrived - (work.served[0] as number) - (work.backlog[0] as number)) < 1e-9);
      assert.ok((work.backlog[0] as number) >= 0);
    }
    assert.ok(Math.abs((work.arrived[0] as number) - 175) < 1e-9);
  });

  test('counts units served after the target delay as late, first in first out', () => {
    // 10 units/s for 1 s, nobody serving for 3 s, then plenty of replicas.
    const demand = new DemandReplay({ step: 1, demand: [10, 0, 0, 0, 0] }, 1);
    const work = new WorkModel([{ priority: 1, demand, perReplicaRate: 100 }], 100, 2500);
    const ready = new Int32Array(1);
    for (let k = 0; k < 50; k++) {
      ready[0] = k >= 30 ? 1 : 0;
      work.step(k, ready);
    }
    // Served at step 30: units of steps 0..4 waited 26–30 steps (> 25): late; those of steps 5..9 did not.
    assert.ok(Math.abs((work.late[0] as number) - 5) < 1e-9);
    assert.equal(work.backlog[0], 0);
    assert.ok(Math.abs(work.maxP1Backlog - 10) < 1e-9);
  });

  test('batch replicas are busy whenever ready; work still waiting at the end counts late once old enough', () => {
    const demand = new DemandReplay({ step: 1, demand: [10] }, 1);
    const work = new WorkModel(
      [
        { priority: 1, demand, perReplicaRate: 1 },
        { priority: 2, demand: undefined, perReplicaRate: 0 },
      ],
      100,
      500,
    );
    const ready = Int32Array.from([0, 3]);
    for (let k = 0; k < 10; k++) work.step(k, ready);
    work.finish(10);
    assert.ok(Math.abs((work.busy[1] as number) - 3) < 1e-9);
    // Arrivals of steps 0..4 have waited more than 5 steps at the end.
    assert.ok(Math.abs((work.late[0] as number) - 5) < 1e-9);
  });
});
