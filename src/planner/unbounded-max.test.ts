// A service without a max of its own (capacity read live: max is Infinity) gets as much as the capacity in
// force allows, and its need and reasons name that capacity, never Infinity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rule, ServicePolicy } from '../core/types.js';
import { EMPTY_MEMORY, plan } from './plan.js';

const service = (name: string, priority: number, rule: Rule, max: number): ServicePolicy => ({
  name,
  priority,
  min: 0,
  max,
  rule,
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 2000,
});

const cases: {
  what: string;
  capacity: number;
  max: number;
  webValue: number;
  want: { web: number; batch: number; batchNeed: number };
}[] = [
  {
    what: 'remainder takes what is left',
    capacity: 14,
    max: Infinity,
    webValue: 40,
    want: { web: 4, batch: 10, batchNeed: 14 },
  },
  {
    what: 'capacity grows: so does its share',
    capacity: 30,
    max: Infinity,
    webValue: 40,
    want: { web: 4, batch: 26, batchNeed: 30 },
  },
  {
    what: 'a finite max still caps',
    capacity: 30,
    max: 5,
    webValue: 40,
    want: { web: 4, batch: 5, batchNeed: 5 },
  },
  {
    what: 'target service unbounded too',
    capacity: 6,
    max: Infinity,
    webValue: 200,
    want: { web: 6, batch: 0, batchNeed: 6 },
  },
];

for (const c of cases) {
  test(c.what, () => {
    const services = [
      service('web', 1, { type: 'target', perReplica: 10, activation: 0 }, c.max),
      service('batch', 2, { type: 'remainder' }, c.max),
    ];
    const readings = new Map([['web', { ok: true as const, reading: { value: c.webValue, at: 0 } }]]);
    const result = plan(
      { now: 0, capacity: { replicas: c.capacity }, services, readings, observed: new Map() },
      EMPTY_MEMORY,
    ).plan;
    const [web, batch] = result.services;
    assert.deepEqual({ web: web?.desired, batch: batch?.desired, batchNeed: batch?.need }, c.want);
    for (const s of result.services) assert.doesNotMatch(s.reason?.text ?? '', /Infinity/);
  });
}
