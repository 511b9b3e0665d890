// Controller scenarios on the marathon back-end, against test/fakes/marathon-api.ts (no Marathon can run
// here). Every change locks the app until it converges, so the 409 backoff is exercised throughout.
import { describe } from 'node:test';
import { MarathonScheduler } from '../../src/schedulers/marathon.js';
import { FakeMarathon } from '../fakes/marathon-api.js';
import { clusterScenarios, INSTANCE } from './scenarios.js';

const labels = (service: string) => ({ 'microscaler.instance': INSTANCE, 'microscaler.service': service });

describe('marathon back-end under the controller (fake Marathon API)', () => {
  clusterScenarios(async () => {
    const marathon = new FakeMarathon({ startMs: 150, stopMs: 400 });
    marathon.addApp('/shop/web', { labels: labels('web'), healthChecks: true });
    marathon.addApp('/shop/batch', { labels: labels('batch') });
    const url = await marathon.start();
    return {
      workloads: { web: '/shop/web', batch: '/shop/batch' },
      scheduler: (ctx) => MarathonScheduler.create({ url }, ctx),
      running: (s) => marathon.app(`/shop/${s}`).replicas.tasks.filter((t) => t.state === 'running').length,
      taskIds: () => [...marathon.apps.values()].flatMap((a) => a.replicas.live().map((t) => t.id)),
      peakExisting: () => marathon.peakExisting,
      close: () => marathon.close(),
    };
  });
});
