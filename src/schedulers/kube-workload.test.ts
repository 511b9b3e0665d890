import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Observed } from '../core/types.js';
import { countReplicas, type PodList } from './kube-workload.js';

const pods = (terminating: number, other = 0): PodList => ({
  items: [
    ...Array.from({ length: terminating }, () => ({
      metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' },
    })),
    ...Array.from({ length: other }, () => ({ metadata: {} })),
  ],
});

// [name, spec.replicas, status.replicas, status.readyReplicas, terminating pods, counts]
const cases: Array<[string, number | undefined, number | undefined, number | undefined, number, Observed]> = [
  ['all ready', 3, 3, 3, 0, { running: 3, starting: 0, stopping: 0 }],
  ['scaling up', 3, 3, 1, 0, { running: 1, starting: 2, stopping: 0 }],
  ['nothing reported yet', 2, undefined, undefined, 0, { running: 0, starting: 2, stopping: 0 }],
  ['scaled down, not yet told', 1, 3, 3, 0, { running: 1, starting: 0, stopping: 2 }],
  ['terminating pods stop', 1, 1, 1, 2, { running: 1, starting: 0, stopping: 2 }],
  ['no spec.replicas means one', undefined, 1, 1, 0, { running: 1, starting: 0, stopping: 0 }],
  ['ready counted active though status lags', 1, 0, 2, 0, { running: 1, starting: 0, stopping: 1 }],
  ['scaled to zero', 0, 0, 0, 1, { running: 0, starting: 0, stopping: 1 }],
];

for (const [name, spec, status, ready, terminating, counts] of cases) {
  test(`countReplicas: ${name}`, () => {
    const workload = {
      metadata: { name: 'web' },
      ...(spec !== undefined ? { spec: { replicas: spec } } : {}),
      status: {
        ...(status !== undefined ? { replicas: status } : {}),
        ...(ready !== undefined ? { readyReplicas: ready } : {}),
      },
    };
    assert.deepEqual(countReplicas(workload, pods(terminating, 1)), counts);
  });
}
