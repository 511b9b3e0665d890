import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from './cluster.js';
import { ReplicaStore } from './replicas.js';
import type { SimService } from './setup.js';

const svc = (name: string, priority: number): SimService => ({
  name,
  priority,
  min: 0,
  max: 10,
  rule: { type: 'remainder' },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 0,
  demand: undefined,
  perReplicaRate: 0,
});

describe('priority-aware cluster', () => {
  test('priority 1 evicts priority 2 and waits for it to stop; never exceeds capacity', () => {
    const store = new ReplicaStore(
      ['web', 'batch'],
      { kind: 'fixed', ms: 300 },
      { kind: 'fixed', ms: 1000 },
      1,
    );
    const cluster = new Cluster(store, [svc('web', 1), svc('batch', 2)], 10);
    cluster.want(1, 10);
    cluster.place(0);
    assert.equal(store.active(1), 10);
    cluster.want(0, 4);
    for (let t = 100; t <= 2000; t += 100) {
      store.advance(t);
      cluster.place(t);
      assert.ok(store.occupied() <= 10);
      if (t === 100) {
        assert.equal(store.stoppingCount(1), 4); // evicted at once, exactly as many as needed
        assert.equal(store.active(0), 0); // still waiting for them
      }
    }
    assert.equal(store.ready[0], 4);
    assert.equal(store.active(1), 6);
  });

  test('a level short of capacity shares it one replica at a time', () => {
    const store = new ReplicaStore(['a', 'b'], { kind: 'fixed', ms: 0 }, { kind: 'fixed', ms: 0 }, 1);
    const cluster = new Cluster(store, [svc('a', 1), svc('b', 1)], 5);
    cluster.want(0, 10);
    cluster.want(1, 2);
    cluster.place(0);
    assert.deepEqual([store.active(0), store.active(1)], [3, 2]);
  });
});
