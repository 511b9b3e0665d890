// Controller scenarios on the nomad back-end, against test/fakes/nomad-api.ts (no Nomad can run here).
import { describe } from 'node:test';
import { NomadScheduler } from '../../src/schedulers/nomad.js';
import { FakeNomad } from '../fakes/nomad-api.js';
import { clusterScenarios, INSTANCE } from './scenarios.js';

const meta = (service: string) => ({ 'microscaler.instance': INSTANCE, 'microscaler.service': service });

describe('nomad back-end under the controller (fake Nomad API)', () => {
  clusterScenarios(async () => {
    const nomad = new FakeNomad({ startMs: 150, stopMs: 400 });
    nomad.addJob('shop', { web: { meta: meta('web') }, batch: { meta: meta('batch') } });
    const address = await nomad.start();
    const tasks = (g: string) => nomad.group('shop', g).replicas.tasks;
    return {
      workloads: { web: 'shop/web', batch: 'shop/batch' },
      scheduler: (ctx) => NomadScheduler.create({ address }, ctx, { env: {} }),
      running: (s) => tasks(s).filter((t) => t.state === 'running').length,
      taskIds: () =>
        ['web', 'batch'].flatMap((g) =>
          nomad
            .group('shop', g)
            .replicas.live()
            .map((t) => t.id),
        ),
      peakExisting: () => nomad.peakExisting,
      close: () => nomad.close(),
    };
  });
});
