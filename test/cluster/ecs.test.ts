// Controller scenarios on the ecs back-end (the real AWS SDK) against test/fakes/ecs-api.ts: no ECS here.
import { describe } from 'node:test';
import { EcsScheduler } from '../../src/schedulers/ecs.js';
import { FakeEcs } from '../fakes/ecs-api.js';
import { clusterScenarios, INSTANCE } from './scenarios.js';

const tags = (service: string) => ({ 'microscaler.instance': INSTANCE, 'microscaler.service': service });

describe('ecs back-end under the controller (fake ECS API)', () => {
  clusterScenarios(async () => {
    const ecs = new FakeEcs({ startMs: 150, stopMs: 400 });
    ecs.addService('shop-web', { tags: tags('web') });
    ecs.addService('shop-batch', { tags: tags('batch') });
    const endpoint = await ecs.start();
    return {
      workloads: { web: 'shop-web', batch: 'shop-batch' },
      scheduler: (ctx) =>
        EcsScheduler.create({ cluster: 'prod', region: 'us-east-1', endpoint }, ctx, {
          clientConfig: { credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' } },
        }),
      running: (s) => ecs.service(`shop-${s}`).replicas.tasks.filter((t) => t.state === 'running').length,
      taskIds: () => [...ecs.services.values()].flatMap((s) => s.replicas.live().map((t) => t.id)),
      peakExisting: () => ecs.peakExisting,
      close: () => ecs.close(),
    };
  });
});
