// The scheduler contract (contract.ts) on the real Docker engine: the docker back-end (containers) and the
// swarm back-end (a Swarm service's tasks; .ci/setup-docker.sh runs `docker swarm init`). Judged from the
// engine's own listings. A replica takes 0.4 s to stop (its shell traps SIGTERM).
import assert from 'node:assert/strict';
import { after, describe } from 'node:test';
import { type DockerApi, filters } from '../../src/infra/docker-api.js';
import { DockerScheduler, dockerSettingsSchema } from '../../src/schedulers/docker/scheduler.js';
import { SwarmScheduler, swarmServiceName } from '../../src/schedulers/swarm.js';
import {
  containersOf,
  findEngine,
  INSTANCE_LABEL,
  needApi,
  removeContainers,
  SERVICE_LABEL,
  schedulerContext,
  skipUnless,
  swarmMissing,
  TEST_IMAGE,
  uniqueName,
} from '../fixtures/docker/engine.js';
import { type Backend, SERVICE, schedulerContract } from './contract.js';

const engine = await findEngine();
after(() => engine.api?.close());
const COMMAND = ['sh', '-c', 'trap "sleep 0.4; exit 0" TERM; while :; do sleep 0.1; done'];
/** Container states that hold a slot: everything but exited and dead. */
const HOLDING = new Set(['created', 'running', 'paused', 'restarting', 'removing']);

/** Starts a container outside microscaler; returns its id. */
async function startContainer(api: DockerApi, name: string, labels: Record<string, string>): Promise<string> {
  const { body } = await api.request<{ Id: string }>('POST', '/containers/create', {
    query: { name },
    body: { Image: TEST_IMAGE, Cmd: ['sleep', '3600'], Labels: labels, HostConfig: { NetworkMode: 'none' } },
  });
  await api.request('POST', `/containers/${body.Id}/start`);
  return body.Id;
}

async function stateOf(api: DockerApi, id: string): Promise<string> {
  const { body } = await api.request<{ State: { Status: string } }>('GET', `/containers/${id}/json`);
  return body.State.Status;
}

describe('scheduler contract: docker (real engine)', skipUnless(engine), () => {
  const settings = dockerSettingsSchema.parse({ network: 'none' });
  schedulerContract('docker', async (): Promise<Backend> => {
    const api = needApi(engine);
    const instance = uniqueName('contract');
    const other = uniqueName('contract-other');
    const ctx = schedulerContext(instance, { [SERVICE]: { command: COMMAND } });
    const extra: string[] = [];
    return {
      scheduler: () => DockerScheduler.create(settings, ctx),
      existing: async () =>
        (await containersOf(api, instance, SERVICE)).filter((c) => HOLDING.has(c.State)).map((c) => c.Id),
      notOurs: async () => {
        // Another instance's replica of a service of the same name, and an unlabelled look-alike by name.
        const theirs = await startContainer(api, `${other}-${SERVICE}-1`, {
          [INSTANCE_LABEL]: other,
          [SERVICE_LABEL]: SERVICE,
        });
        const lookalike = await startContainer(api, `${instance}-${SERVICE}-lookalike`, {});
        extra.push(theirs, lookalike);
        return async () => {
          for (const id of [theirs, lookalike])
            assert.equal(await stateOf(api, id), 'running', `${id} untouched`);
        };
      },
      cleanup: async () => {
        await removeContainers(api, instance, extra);
        await removeContainers(api, other);
      },
    };
  });
});

const noSwarm = await swarmMissing(engine);
const swarm = noSwarm === undefined;

interface Task {
  readonly ID: string;
  readonly Status?: { readonly State?: string };
}
/** Task states whose container may run: from creation until it has stopped. */
const LIVE_TASK = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
]);

async function swarmService(api: DockerApi, name: string) {
  const { body } = await api.request<{ ID: string; Spec: { Mode: { Replicated: { Replicas: number } } } }[]>(
    'GET',
    '/services',
    { query: { filters: filters({ name: [name] }) } },
  );
  return body.find((s) => s !== undefined);
}

async function liveTasks(api: DockerApi, serviceId: string): Promise<string[]> {
  const { body } = await api.request<Task[]>('GET', '/tasks', {
    query: { filters: filters({ service: [serviceId] }) },
  });
  return body.filter((t) => LIVE_TASK.has(t.Status?.State ?? '')).map((t) => t.ID);
}

async function createSwarmService(
  api: DockerApi,
  name: string,
  replicas: number,
  labels: Record<string, string>,
) {
  const { body } = await api.request<{ ID: string }>('POST', '/services/create', {
    body: {
      Name: name,
      Labels: labels,
      TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Args: ['sleep', '3600'], Init: true } },
      Mode: { Replicated: { Replicas: replicas } },
    },
  });
  return body.ID;
}

describe('scheduler contract: swarm (real one-node swarm)', {
  skip: noSwarm && process.env.CI !== 'true' ? noSwarm : false,
}, () => {
  schedulerContract(
    'swarm',
    async (): Promise<Backend> => {
      const api = needApi(engine);
      assert.ok(swarm, noSwarm);
      const instance = uniqueName('contract');
      const ctx = schedulerContext(instance, { [SERVICE]: { command: COMMAND, stopGraceMs: 2000 } });
      const made: string[] = [];
      const ours = async () => {
        const s = await swarmService(api, swarmServiceName(instance, SERVICE));
        if (s && !made.includes(s.ID)) made.push(s.ID);
        return s;
      };
      /** A Swarm service's count and its very tasks stay as they were. */
      const intact = async (ids: string[]) => {
        const before = await Promise.all(ids.map(async (id) => (await liveTasks(api, id)).sort()));
        return async () => {
          for (const [i, id] of ids.entries()) assert.deepEqual((await liveTasks(api, id)).sort(), before[i]);
        };
      };
      const running = async (id: string, n: number) => {
        const end = Date.now() + 60_000;
        for (;;) {
          const { body } = await api.request<Task[]>('GET', '/tasks', {
            query: { filters: filters({ service: [id] }) },
          });
          if (body.filter((t) => t.Status?.State === 'running').length === n) return;
          if (Date.now() > end) assert.fail(`Swarm service ${id}: never ${n} running`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      return {
        scheduler: async () => {
          const s = await SwarmScheduler.create({}, ctx);
          await ours();
          return s;
        },
        existing: async () => {
          const s = await ours();
          return s ? liveTasks(api, s.ID) : [];
        },
        notOurs: async () => {
          const theirs = await createSwarmService(api, uniqueName('contract-other'), 1, {
            [INSTANCE_LABEL]: 'other',
            [SERVICE_LABEL]: SERVICE,
          });
          made.push(theirs);
          await running(theirs, 1);
          return intact([theirs]);
        },
        unlabelled: async () => {
          const bare = await createSwarmService(api, swarmServiceName(`${instance}-bare`, SERVICE), 1, {});
          made.push(bare);
          await running(bare, 1);
          const check = await intact([bare]);
          return {
            // Refused at start-up, a plain error (the config names what is not ours).
            terminal: false,
            attempt: () =>
              SwarmScheduler.create(
                {},
                schedulerContext(`${instance}-bare`, { [SERVICE]: { command: COMMAND } }),
              ),
            unchanged: async () => {
              await check();
              assert.equal(
                (await swarmService(api, swarmServiceName(`${instance}-bare`, SERVICE)))?.Spec.Mode.Replicated
                  .Replicas,
                1,
              );
            },
          };
        },
        cleanup: async () => {
          await Promise.all(made.map((id) => api.request('DELETE', `/services/${id}`).catch(() => {})));
        },
      };
    },
    { objects: true, timeoutMs: 60_000 },
  );
});
