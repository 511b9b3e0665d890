// /metrics for live capacity and pressure: the gauges by resource, the capacity's up gauge, the requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../core/types.js';
import { renderMetrics } from './prometheus.js';

const amount = (r: number) => ({ replicas: r, cpu: r / 2, memory: r * 2 ** 30 });
const snapshot: Snapshot = {
  time: '2026-12-08T00:00:00.000Z',
  name: 'shop',
  capacity: { replicas: 10, used: 10 },
  services: [],
  capacityError: 'capacity could not be read: HTTP 503; holding 10 replicas',
  pressure: { unmet: amount(5), idle: amount(0), sustainedUnmet: amount(3), sustainedIdle: amount(0) },
};

test('pressure gauges by resource, capacity_up 0 while a reading is not taken, requests by direction and outcome', () => {
  const text = renderMetrics(snapshot, {
    tickSeconds: { bounds: [], counts: [], count: 0, sum: 0 } as never,
    observeErrors: 0,
    services: new Map(),
    autoscaleRequests: new Map([
      ['out taken', 2],
      ['in failed', 1],
    ]),
  });
  const lines = text.split('\n');
  for (const want of [
    'microscaler_capacity_up 0',
    'microscaler_capacity_pressure_unmet{resource="replicas"} 5',
    'microscaler_capacity_pressure_unmet{resource="cpu"} 2.5',
    `microscaler_capacity_pressure_unmet{resource="memory"} ${5 * 2 ** 30}`,
    'microscaler_capacity_pressure_unmet_sustained{resource="replicas"} 3',
    'microscaler_capacity_pressure_idle{resource="replicas"} 0',
    'microscaler_autoscale_requests_total{direction="out",outcome="taken"} 2',
    'microscaler_autoscale_requests_total{direction="in",outcome="failed"} 1',
  ]) {
    assert.ok(lines.includes(want), `missing: ${want}`);
  }
  assert.equal(lines.filter((l) => l.startsWith('# TYPE microscaler_capacity_pressure_unmet ')).length, 1);
});
