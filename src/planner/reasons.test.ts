// Each cause of a planner reason comes from the situation it names, with the text people have always read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Capacity, ReasonCause, ServicePolicy, SourceResult } from '../core/types.js';
import { EMPTY_MEMORY, type PlannerMemory, plan } from './plan.js';

function svc(name: string, priority: number, extra: Partial<ServicePolicy> = {}): ServicePolicy {
  return {
    name,
    priority,
    min: 0,
    max: 100,
    rule: { type: 'target', perReplica: 10, activation: 0 },
    resources: { cpu: 0, memory: 0 },
    scaleDownWindowMs: 2000,
    ...extra,
  };
}
const ok = (value: number): SourceResult => ({ ok: true, reading: { value, at: 0 } });
const failed: SourceResult = { ok: false, error: 'connection refused' };

/** One tick: when, the readings, and what runs (replicas per service). */
interface Tick {
  readonly now: number;
  readonly readings: Record<string, SourceResult>;
  readonly running: Record<string, number>;
}

interface Row {
  readonly situation: string;
  readonly services: readonly ServicePolicy[];
  readonly capacity?: Capacity;
  readonly ticks: readonly Tick[];
  /** The service whose reason (in the last tick's plan) is checked. */
  readonly service: string;
  readonly cause: ReasonCause;
  readonly text: RegExp;
}

const web = svc('web', 1);
const batch = svc('batch', 2, { rule: { type: 'remainder' }, max: 20 });

const rows: Row[] = [
  {
    situation: 'demand rises: scale up at once',
    services: [web],
    ticks: [{ now: 0, readings: { web: ok(50) }, running: { web: 1 } }],
    service: 'web',
    cause: 'scale-up',
    text: /^scale up web 1→5: need 5 \(value 50 \/ 10 per replica\)$/,
  },
  {
    situation: 'demand rises beyond capacity: still a scale up, capped',
    services: [web],
    capacity: { replicas: 3 },
    ticks: [{ now: 0, readings: { web: ok(50) }, running: { web: 1 } }],
    service: 'web',
    cause: 'scale-up',
    text: /^scale up web 1→3: need 5 \(.*\), capacity allows 3 of 5$/,
  },
  {
    situation: 'demand falls: scale down within the window, to what it held',
    services: [web],
    ticks: [
      { now: 0, readings: { web: ok(50) }, running: { web: 5 } },
      { now: 1000, readings: { web: ok(30) }, running: { web: 5 } },
      { now: 2500, readings: { web: ok(10) }, running: { web: 5 } },
    ],
    service: 'web',
    cause: 'scale-down',
    text: /^scale down web 5→3: need 3 within the last 2s \(now 1: value 10 \/ 10 per replica\)$/,
  },
  {
    situation: 'demand fell for the whole window: scale down to the need',
    services: [web],
    ticks: [
      { now: 0, readings: { web: ok(10) }, running: { web: 5 } },
      { now: 2100, readings: { web: ok(10) }, running: { web: 5 } },
    ],
    service: 'web',
    cause: 'scale-down',
    text: /^scale down web 5→1: need 1 \(value 10 \/ 10 per replica\)$/,
  },
  {
    situation: 'a higher priority takes the capacity: preempt',
    services: [web, batch],
    capacity: { replicas: 20 },
    ticks: [{ now: 0, readings: { web: ok(120) }, running: { web: 1, batch: 19 } }],
    service: 'batch',
    cause: 'preempt',
    text: /^preempted batch ×11 for web \(need 12\): batch 19→8$/,
  },
  {
    situation: 'a remainder service grows into what is left',
    services: [web, batch],
    capacity: { replicas: 20 },
    ticks: [{ now: 0, readings: { web: ok(10) }, running: { web: 1 } }],
    service: 'batch',
    cause: 'remainder',
    text: /^scale up batch 0→19: remainder, capacity allows 19 of 20$/,
  },
  {
    situation: 'the source fails: held at its need',
    services: [web],
    ticks: [{ now: 0, readings: { web: failed }, running: { web: 3 } }],
    service: 'web',
    cause: 'hold',
    text: /^holding need at 3: connection refused$/,
  },
  {
    situation: 'min above what the rule asks: raised to min',
    services: [svc('web', 1, { min: 2 })],
    ticks: [{ now: 0, readings: { web: ok(0) }, running: {} }],
    service: 'web',
    cause: 'min',
    text: /^scale up web 0→2: need 2 \(value 0 ≤ activation 0\)$/,
  },
  {
    situation: 'max below what the rule asks: capped by max',
    services: [svc('web', 1, { max: 3 })],
    ticks: [{ now: 0, readings: { web: ok(100) }, running: { web: 5 } }],
    service: 'web',
    cause: 'max',
    text: /^scale down web 5→3: need 3 \(value 100 \/ 10 per replica\)$/,
  },
  {
    situation: 'a remainder service above its max: capped by max',
    services: [batch],
    ticks: [{ now: 0, readings: {}, running: { batch: 25 } }],
    service: 'batch',
    cause: 'max',
    text: /^scale down batch 25→20: need 20 \(remainder\)$/,
  },
];

describe('plan: each reason has the cause of its situation', () => {
  for (const row of rows) {
    test(`${row.situation}: ${row.cause}`, () => {
      let memory: PlannerMemory = EMPTY_MEMORY;
      let last: ReturnType<typeof plan> | undefined;
      for (const t of row.ticks) {
        last = plan(
          {
            now: t.now,
            capacity: row.capacity ?? { replicas: 100 },
            services: row.services,
            readings: new Map(Object.entries(t.readings)),
            observed: new Map(
              Object.entries(t.running).map(([name, n]) => [name, { running: n, starting: 0, stopping: 0 }]),
            ),
          },
          memory,
        );
        memory = last.memory;
      }
      const p = last?.plan.services.find((s) => s.name === row.service);
      assert.ok(p?.reason, `no reason for ${row.service}`);
      assert.equal(p.reason.cause, row.cause, p.reason.text);
      assert.match(p.reason.text, row.text);
    });
  }

  test('no reason where nothing changed and nothing is wrong', () => {
    const input = {
      now: 0,
      capacity: { replicas: 100 },
      services: [web],
      readings: new Map([['web', ok(50)]]),
      observed: new Map([['web', { running: 5, starting: 0, stopping: 0 }]]),
    };
    assert.equal(plan(input, EMPTY_MEMORY).plan.services[0]?.reason, undefined);
  });
});
