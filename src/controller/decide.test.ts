import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observed, Reason, ServicePlan, ServicePolicy } from '../core/types.js';
import { type DecideInput, decide, type LedgerView, NO_CALLS, type ScaleCall } from './decide.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};
const batch: ServicePolicy = { ...web, name: 'batch', priority: 2, rule: { type: 'remainder' } };

const planned = (name: string, desired: number, reason?: Reason): ServicePlan => ({
  name,
  priority: name === 'web' ? 1 : 2,
  value: undefined,
  need: desired,
  desired,
  ...(reason === undefined ? {} : { reason }),
});
const running = (n: number, more: Partial<Observed> = {}): Observed => ({
  running: n,
  starting: 0,
  stopping: 0,
  ...more,
});

interface Case {
  readonly name: string;
  /** What differs from web and batch, both wanting what they run (1 and 0), capacity 4, no calls made. */
  readonly given: Partial<DecideInput> & {
    readonly desired?: Readonly<Record<string, number>>;
    readonly seen?: Readonly<Record<string, Observed>>;
  };
  readonly calls: readonly ScaleCall[];
  /** The removed services told about, with their stop calls; none when absent. */
  readonly removed?: readonly { readonly message: string; readonly stop?: ScaleCall }[];
}

function run(c: Case) {
  const { desired, seen, ...rest } = c.given;
  const want = { web: 1, batch: 0, ...desired };
  const observed = new Map(Object.entries({ web: running(1), batch: running(0), ...seen }));
  const services = rest.services ?? [web, batch];
  return decide({
    plan: { at: 0, services: services.map((s) => planned(s.name, want[s.name as 'web'] ?? 0)) },
    observed,
    now: 0,
    ledger: NO_CALLS,
    held: () => false,
    services,
    names: new Set(services.map((s) => s.name)),
    capacity: { replicas: 4 },
    freezing: false,
    pending: new Map(),
    keepRemoved: false,
    ...rest,
  });
}

const ledger = (view: Partial<LedgerView>): LedgerView => ({ ...NO_CALLS, ...view });
const call = (service: string, replicas: number, active: number, reason: Reason, frozen?: number) => ({
  service,
  replicas,
  ...(frozen === undefined ? {} : { frozen }),
  reason,
  active,
});
const replacing = (n: number, name = 'web'): Reason => ({
  cause: 'replace',
  text: `replacing ${n} replica(s) of ${name} that stopped`,
});
const old = 'old is not in the config: its 3 replica(s) count against capacity';

const scaleUp: Reason = { cause: 'scale-up', text: 'scale up web 1→3' };

const warmWeb: ServicePolicy = { ...web, warm: 2, resources: { cpu: 0, memory: 100 } };
// Not a remainder: a service that soaks up what is left takes only lower priorities' frozen replicas.
const hungryBatch: ServicePolicy = { ...web, name: 'batch', priority: 2, resources: { cpu: 0, memory: 100 } };

const cases: Case[] = [
  {
    name: "web waits for batch's stops",
    given: { desired: { web: 4, batch: 0 }, seen: { web: running(0), batch: running(4) } },
    calls: [call('batch', 0, 4, { cause: 'above-plan', text: 'batch above plan' })],
  },
  {
    name: 'an abandoned call is re-asked',
    given: {
      desired: { web: 3 },
      ledger: ledger({
        hasAbandoned: (s) => s === 'web',
        reserve: (s, o) => (s === 'web' ? { ...o, starting: 3 - o.running } : o),
      }),
    },
    calls: [call('web', 3, 1, replacing(2))],
  },
  {
    name: 'a call in flight holds the service',
    given: { desired: { web: 3 }, ledger: ledger({ inFlight: new Map([['web', { target: 2 }]]) }) },
    calls: [],
  },
  {
    name: 'a settled call not yet seen holds the service',
    given: {
      desired: { web: 3 },
      ledger: ledger({
        unseenOf: (s) => (s === 'web' ? [{ target: 2 }] : undefined),
        hasUnseen: (s) => s === 'web',
      }),
    },
    calls: [],
  },
  {
    name: 'a backoff holds',
    given: { desired: { web: 3 }, ledger: ledger({ waiting: (s) => s === 'web' }) },
    calls: [],
  },
  {
    name: 'a terminal hold holds',
    given: { desired: { web: 3 }, held: (s) => s === 'web' },
    calls: [],
  },
  {
    name: 'a removed service is stopped, unless kept: stopped',
    given: { seen: { old: running(3) } },
    calls: [],
    removed: [
      {
        message: `${old} until stopped`,
        stop: call('old', 0, 3, {
          cause: 'removed',
          text: 'stopping 3 replica(s) of old, which is not in the config (run --keep-removed keeps them)',
        }),
      },
    ],
  },
  {
    name: 'a removed service is stopped, unless kept: kept',
    given: { seen: { old: running(3) }, keepRemoved: true },
    calls: [],
    removed: [{ message: `${old} and are kept running (--keep-removed)` }],
  },
  {
    name: 'a removed service is stopped, unless kept: not while its backoff waits',
    given: { seen: { old: running(3) }, ledger: ledger({ waiting: (s) => s === 'old' }) },
    calls: [],
    removed: [{ message: `${old} until stopped` }],
  },
  {
    name: 'a warm pool refills from spare capacity',
    given: { services: [warmWeb, batch], freezing: true },
    calls: [
      call(
        'web',
        1,
        1,
        { cause: 'refill', text: 'refilling the warm pool of web (0→2 frozen) from spare capacity' },
        2,
      ),
    ],
  },
  {
    name: 'frozen replicas are removed when their memory is needed',
    given: {
      services: [warmWeb, hungryBatch],
      freezing: true,
      capacity: { replicas: 10, memory: 400 },
      desired: { batch: 2 },
      seen: { web: running(1, { frozen: 2 }) },
    },
    calls: [
      call(
        'web',
        1,
        1,
        { cause: 'remove-frozen', text: 'removing 1 frozen replica(s) of web: their memory is needed' },
        1,
      ),
      call('batch', 1, 0, replacing(1, 'batch')),
    ],
  },
  {
    name: 'stopped replicas are replaced',
    given: { desired: { web: 3 } },
    calls: [call('web', 3, 1, replacing(2))],
  },
  {
    name: 'a change of desired not reached yet names the replicas started for it',
    given: { desired: { web: 3 }, pending: new Map([['web', { desired: 3, reason: scaleUp }]]) },
    calls: [call('web', 3, 1, scaleUp)],
  },
  {
    name: 'a service that does not freeze counts its frozen replicas as stopping',
    given: { desired: { web: 4 }, freezing: true, seen: { web: running(0, { frozen: 2 }) } },
    calls: [call('web', 2, 0, replacing(2))],
  },
  {
    name: 'priority 1 takes free capacity first',
    given: { desired: { web: 4, batch: 3 }, seen: { web: running(1), batch: running(1) } },
    calls: [call('web', 3, 1, replacing(2))],
  },
];

describe('decide', () => {
  for (const c of cases) {
    test(c.name, () => {
      const d = run(c);
      assert.deepEqual(d.calls, c.calls);
      assert.deepEqual(
        d.removed.map((r) => ({ message: r.message, ...(r.stop ? { stop: r.stop } : {}) })),
        c.removed ?? [],
      );
    });
  }
});
