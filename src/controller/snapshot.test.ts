import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observed, Plan, ServicePolicy } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { EventLog } from './event-log.js';
import { Reporter } from './reporter.js';
import { ServiceBook } from './service-book.js';
import { buildSnapshot, type ControllerSnapshot } from './snapshot.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 0,
  max: 10,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};
const plan: Plan = {
  at: 0,
  services: [
    { name: 'web', priority: 1, value: 30, need: 3, desired: 3, reason: { cause: 'scale-up', text: 'up' } },
  ],
};

interface Case {
  readonly name: string;
  readonly observed?: Record<string, Observed>;
  readonly plan?: Plan;
  readonly freezing?: boolean;
  readonly keepRemoved?: boolean;
  readonly paused?: number;
  readonly problems?: readonly [key: 'scheduler' | 'scale:web', message: string][];
  readonly check: (s: ControllerSnapshot) => void;
}

const cases: Case[] = [
  {
    name: 'nothing seen, nothing planned: zeros, no reason, nothing removed',
    check: (s) => {
      assert.equal(s.capacity.used, 0);
      assert.deepEqual(s.services[0], {
        name: 'web',
        priority: 1,
        min: 0,
        max: 10,
        value: null,
        need: 0,
        desired: 0,
        running: 0,
        starting: 0,
        stopping: 0,
      });
      assert.equal(s.removed, undefined);
      assert.equal(s.schedulerError, undefined);
    },
  },
  {
    name: 'used counts running, starting, stopping and warming, not frozen; the plan shows with its reason',
    observed: { web: { running: 2, starting: 1, stopping: 1, warming: 1, frozen: 4 } },
    plan,
    check: (s) => {
      assert.equal(s.capacity.used, 5);
      const w = s.services[0];
      assert.equal(w?.desired, 3);
      assert.equal(w?.value, 30);
      assert.equal(w?.reason, 'up');
      assert.equal(w?.cause, 'scale-up');
      assert.equal(w?.warm, undefined);
    },
  },
  {
    name: 'a back-end that freezes shows the warm pool',
    observed: { web: { running: 1, starting: 0, stopping: 0, frozen: 2 } },
    freezing: true,
    check: (s) => assert.equal(s.services[0]?.warm, 2),
  },
  {
    name: 'removed services hold capacity; kept or not as configured',
    observed: {
      web: { running: 1, starting: 0, stopping: 0 },
      old: { running: 2, starting: 0, stopping: 1 },
    },
    keepRemoved: true,
    check: (s) => {
      assert.equal(s.capacity.used, 4);
      assert.deepEqual(s.removed, [{ name: 'old', replicas: 3, kept: true }]);
      assert.equal(s.services.length, 1);
    },
  },
  {
    name: 'paused, and the open problems',
    paused: 2,
    problems: [
      ['scheduler', 'cannot observe'],
      ['scale:web', 'scaling web failed'],
    ],
    check: (s) => {
      assert.equal(s.services[0]?.paused, true);
      assert.equal(s.services[0]?.scaleError, 'scaling web failed');
      assert.equal(s.schedulerError, 'cannot observe');
    },
  },
];

describe('buildSnapshot', () => {
  for (const c of cases) {
    test(c.name, () => {
      const book = new ServiceBook([web]);
      if (c.paused !== undefined) book.pause('web', c.paused);
      const reporter = new Reporter(silentLogger, () => 0, new EventLog());
      for (const [key, message] of c.problems ?? []) reporter.problem(key, undefined, message);
      const snapshot = buildSnapshot({
        name: 'test',
        capacity: { replicas: 10 },
        book,
        plan: c.plan,
        observed: new Map(Object.entries(c.observed ?? {})),
        reporter,
        freezing: c.freezing === true,
        keepRemoved: c.keepRemoved === true,
        wall: () => 0,
      });
      assert.equal(snapshot.time, '1970-01-01T00:00:00.000Z');
      c.check(snapshot);
    });
  }
});
