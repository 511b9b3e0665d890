import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observed, Rule, ServicePolicy, SourceResult } from '../core/types.js';
import { EMPTY_MEMORY, type PlannerMemory, plan } from './plan.js';

function svc(name: string, priority: number, rule: Rule, extra: Partial<ServicePolicy> = {}): ServicePolicy {
  return {
    name,
    priority,
    min: 0,
    max: 100,
    rule,
    resources: { cpu: 0, memory: 0 },
    scaleDownWindowMs: 2000,
    ...extra,
  };
}
const target = (perReplica: number, activation = 0): Rule => ({ type: 'target', perReplica, activation });
const remainder: Rule = { type: 'remainder' };
const ok = (value: number, at = 0, rate?: number): SourceResult => ({
  ok: true,
  reading: { value, at, ...(rate === undefined ? {} : { rate }) },
});
const running = (n: number): Observed => ({ running: n, starting: 0, stopping: 0 });

function desiredOf(result: ReturnType<typeof plan>): Record<string, number> {
  return Object.fromEntries(result.plan.services.map((s) => [s.name, s.desired]));
}

describe('plan: examples', () => {
  const web = svc('web', 1, target(10), { min: 1, max: 18 });
  const batch = svc('batch', 2, remainder, { max: 20 });
  const capacity = { replicas: 20 };

  const cases: {
    name: string;
    value: number;
    observed: Record<string, number>;
    want: Record<string, number>;
    reason?: RegExp;
  }[] = [
    { name: 'idle: web at min, batch takes the rest', value: 0, observed: {}, want: { web: 1, batch: 19 } },
    { name: 'need 7 from value 65', value: 65, observed: {}, want: { web: 7, batch: 13 } },
    {
      name: 'web capped at max 18, batch keeps 2',
      value: 500,
      observed: { web: 1, batch: 19 },
      want: { web: 18, batch: 2 },
      reason: /preempted batch ×17 for web \(need 18\)/,
    },
    { name: 'exact multiple', value: 30, observed: {}, want: { web: 3, batch: 17 } },
    { name: 'just over a multiple', value: 30.5, observed: {}, want: { web: 4, batch: 16 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const observed = new Map(Object.entries(c.observed).map(([k, v]) => [k, running(v)]));
      const r = plan(
        { now: 0, capacity, services: [web, batch], readings: new Map([['web', ok(c.value)]]), observed },
        EMPTY_MEMORY,
      );
      assert.deepEqual(desiredOf(r), c.want);
      if (c.reason) {
        const reasons = r.plan.services.map((s) => s.reason?.text ?? '').join('\n');
        assert.match(reasons, c.reason);
      }
    });
  }

  test('target rule scales to zero below activation and back', () => {
    const fn = svc('fn', 1, target(5, 2), { scaleDownWindowMs: 0 });
    let memory: PlannerMemory = EMPTY_MEMORY;
    const seq: [number, number][] = [
      [10, 2],
      [2, 0],
      [0, 0],
      [3, 1],
    ];
    let now = 0;
    for (const [value, want] of seq) {
      const r = plan(
        { now, capacity, services: [fn], readings: new Map([['fn', ok(value)]]), observed: new Map() },
        memory,
      );
      memory = r.memory;
      assert.equal(r.plan.services[0]?.desired, want, `value ${value}`);
      now += 100;
    }
  });

  test('queue rule: backlog drained within drainSeconds plus arrivals', () => {
    const q = svc('q', 1, { type: 'queue', perReplicaRate: 5, drainSeconds: 10 });
    const r = plan(
      { now: 0, capacity, services: [q], readings: new Map([['q', ok(100, 0, 12)]]), observed: new Map() },
      EMPTY_MEMORY,
    );
    // (12 arrivals/s + 100 backlog / 10 s) / 5 per replica = 4.4 -> 5
    assert.equal(r.plan.services[0]?.desired, 5);
  });

  test('fixed rule', () => {
    const f = svc('f', 1, { type: 'fixed', replicas: 4 });
    const r = plan(
      { now: 0, capacity, services: [f], readings: new Map(), observed: new Map() },
      EMPTY_MEMORY,
    );
    assert.equal(r.plan.services[0]?.desired, 4);
  });

  test('a failing source holds the service at its count, never zero', () => {
    const services = [svc('web', 1, target(10)), batch];
    let r = plan(
      {
        now: 0,
        capacity,
        services,
        readings: new Map([['web', ok(55)]]),
        observed: new Map(),
      },
      EMPTY_MEMORY,
    );
    assert.equal(desiredOf(r).web, 6);
    r = plan(
      {
        now: 10_000,
        capacity,
        services,
        readings: new Map([['web', { ok: false, error: 'connection refused' }]]),
        observed: new Map(),
      },
      r.memory,
    );
    const web = r.plan.services.find((s) => s.name === 'web');
    assert.equal(web?.desired, 6);
    assert.equal(web?.error, 'connection refused');
    assert.match(web?.reason?.text ?? '', /holding need at 6: connection refused/);
  });

  test('a value back after an outage longer than the window restarts the window, not ends it', () => {
    const s = svc('web', 1, target(10), { scaleDownWindowMs: 2000 });
    const at = (now: number, result: SourceResult) => ({
      now,
      capacity,
      services: [s],
      readings: new Map([['web', result]]),
      observed: new Map([['web', running(6)]]),
    });
    const down: SourceResult = { ok: false, error: 'connection refused' };
    let r = plan(at(0, ok(55)), EMPTY_MEMORY);
    assert.equal(r.plan.services[0]?.desired, 6);
    for (const now of [1000, 5000, 10_000]) r = plan(at(now, down), r.memory);
    assert.equal(r.plan.services[0]?.desired, 6);
    // Back, lower: held for a whole window from now, as if the value had dropped just now.
    r = plan(at(10_001, ok(15)), r.memory);
    assert.equal(r.plan.services[0]?.desired, 6, 'not scaled down the moment the source recovers');
    r = plan(at(11_900, ok(15)), r.memory);
    assert.equal(r.plan.services[0]?.desired, 6);
    r = plan(at(12_100, ok(15)), r.memory);
    assert.equal(r.plan.services[0]?.desired, 2);
    assert.match(r.plan.services[0]?.reason?.text ?? '', /scale down web 6→2/);
  });

  test('a value back after an outage still scales up at once', () => {
    const s = svc('web', 1, target(10), { scaleDownWindowMs: 2000 });
    const at = (now: number, result: SourceResult) => ({
      now,
      capacity,
      services: [s],
      readings: new Map([['web', result]]),
      observed: new Map(),
    });
    let r = plan(at(0, ok(20)), EMPTY_MEMORY);
    r = plan(at(5000, { ok: false, error: 'timeout' }), r.memory);
    r = plan(at(5100, ok(90)), r.memory);
    assert.equal(r.plan.services[0]?.desired, 9);
  });

  test('a service seen for the first time with no reading holds what runs', () => {
    const r = plan(
      {
        now: 0,
        capacity,
        services: [svc('web', 1, target(10))],
        readings: new Map(),
        observed: new Map([['web', running(4)]]),
      },
      EMPTY_MEMORY,
    );
    assert.equal(r.plan.services[0]?.desired, 4);
  });

  test('after a restart (empty memory) running replicas are not scaled down before the window', () => {
    const s = svc('web', 1, target(10), { scaleDownWindowMs: 2000 });
    const input = (now: number) => ({
      now,
      capacity,
      services: [s],
      readings: new Map([['web', ok(10)]]),
      observed: new Map([['web', running(5)]]),
    });
    let r = plan(input(0), EMPTY_MEMORY);
    assert.equal(r.plan.services[0]?.desired, 5);
    r = plan(input(1900), r.memory);
    assert.equal(r.plan.services[0]?.desired, 5);
    r = plan(input(2100), r.memory);
    assert.equal(r.plan.services[0]?.desired, 1);
    assert.match(r.plan.services[0]?.reason?.text ?? '', /scale down web 5→1/);
  });

  test('same priority shares in proportion to need', () => {
    const a = svc('a', 1, target(1));
    const b = svc('b', 1, target(1));
    const r = plan(
      {
        now: 0,
        capacity: { replicas: 10 },
        services: [a, b],
        readings: new Map([
          ['a', ok(30)],
          ['b', ok(10)],
        ]),
        observed: new Map(),
      },
      EMPTY_MEMORY,
    );
    // exactly 7.5 : 2.5; the odd replica goes to the smaller share of its need (b: 2/10 < a: 7/30)
    assert.deepEqual(desiredOf(r), { a: 7, b: 3 });
  });

  test('cpu and memory budgets bind as well as replicas', () => {
    const big = svc('big', 1, target(1), { resources: { cpu: 2, memory: 0 } });
    const small = svc('small', 2, remainder, { resources: { cpu: 0.5, memory: 1024 } });
    const r = plan(
      {
        now: 0,
        capacity: { replicas: 20, cpu: 7, memory: 2048 },
        services: [big, small],
        readings: new Map([['big', ok(10)]]),
        observed: new Map(),
      },
      EMPTY_MEMORY,
    );
    // big: 3 fit in 7 cpus; small: 1 cpu left -> 2, memory 2048 -> 2
    assert.deepEqual(desiredOf(r), { big: 3, small: 2 });
  });
});
