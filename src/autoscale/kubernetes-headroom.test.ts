// The kubernetes-headroom target against test/fakes/kube-api.ts: the placeholder Deployment it creates and
// sizes, its shrinking once the placeholders are scheduled (or on an `in` request), the PriorityClass checks,
// and a Deployment not labelled ours left alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeKubeApi } from '../../test/fakes/kube-api.js';
import { TerminalError } from '../core/errors.js';
import type { CapacityAsk } from '../core/types.js';
import { systemClock } from '../infra/system-clock.js';
import {
  createHeadroomTarget,
  type HeadroomTarget,
  headroomSettingsSchema,
  placeholdersFor,
} from './kubernetes-headroom.js';

const TOKEN = 'headroom-token-do-not-print';
const GI = 2 ** 30;
let api: FakeKubeApi;
const targets: HeadroomTarget[] = [];
before(async () => {
  api = await FakeKubeApi.start();
  api.tokens.add(TOKEN);
  api.priorityClasses.set('microscaler-headroom', { value: -1, preemptionPolicy: 'Never' });
});
after(async () => {
  await Promise.all(targets.map((t) => t.close()));
  await api.stop();
});

let serial = 0;
async function setup(extra: Record<string, unknown> = {}) {
  const namespace = `ns${++serial}`;
  const logs: string[] = [];
  const settings = headroomSettingsSchema.parse({
    type: 'kubernetes-headroom',
    namespace,
    podCpu: 0.5,
    podMemory: '1Gi',
    checkEvery: 0.05,
    ...extra,
  });
  const target = await createHeadroomTarget(settings, {
    clock: systemClock,
    logger: { log: (level, message) => logs.push(`${level}: ${message}`) },
    instance: 'shop',
    kube: async () => ({
      connection: { server: api.url, ca: api.certs.ca, token: () => TOKEN, describe: 'test token' },
      namespace: undefined,
    }),
  });
  targets.push(target);
  return { namespace, target, logs };
}

const out = (cpu: number, memory: number): CapacityAsk => ({
  direction: 'out',
  want: { replicas: 4, cpu, memory },
  reason: 'unmet need has lasted its window',
});
const inAsk: CapacityAsk = {
  direction: 'in',
  nodes: 1,
  want: { replicas: 4, cpu: 4, memory: GI },
  reason: 'idle',
};
const signal = () => AbortSignal.timeout(5000);

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('placeholdersFor', () => {
  const pod = { cpu: 0.5, memory: GI };
  const cases: [string, number, number, number][] = [
    ['cpu decides', 2, GI, 4],
    ['memory decides', 0.5, 3.5 * GI, 4],
    ['a fraction rounds up', 1.1, 0, 3],
    ['exact multiples stay exact', 1.5, 3 * GI, 3],
    ['nothing to cover', 0, 0, 0],
    ['capped at max', 100, 0, 10],
  ];
  for (const [name, cpu, memory, pods] of cases) {
    test(`${name}: ${cpu} cpu, ${memory / GI} GiB → ${pods}`, () => {
      assert.equal(placeholdersFor({ replicas: 0, cpu, memory }, pod, 10), pods);
    });
  }
});

describe('kubernetes-headroom target (fake API server)', () => {
  test('out creates our placeholder Deployment sized to the need, and shrinks it once all are scheduled', async () => {
    api.readyDelayMs = 300;
    const { namespace, target, logs } = await setup();
    await target.ask('shop', out(1.2, 2 * GI), signal());
    const w = api.workload('microscaler-headroom', 'deployments', namespace);
    assert.equal(w.replicas, 3, '1.2 cpu at 0.5 each');
    assert.deepEqual(w.labels, {
      'app.kubernetes.io/managed-by': 'microscaler',
      'microscaler.instance': 'shop',
      'microscaler.headroom': 'true',
    });
    const spec = (w.template as { spec: Record<string, unknown> }).spec;
    assert.equal(spec.priorityClassName, 'microscaler-headroom');
    assert.deepEqual(spec.containers, [
      {
        name: 'placeholder',
        image: 'registry.k8s.io/pause:3.9',
        resources: {
          requests: { cpu: '500m', memory: String(GI) },
          limits: { cpu: '500m', memory: String(GI) },
        },
      },
    ]);
    // The fake takes the patch before the target logs it: wait for both.
    await until(
      'the nodes have come and the headroom shrank',
      () => w.replicas === 0 && logs.some((l) => /set to 0 placeholder pods/.test(l)),
    );
    assert.deepEqual(
      api.patches.filter((p) => p === 'deployments/microscaler-headroom=3' || p.endsWith('=0')).slice(-2),
      ['deployments/microscaler-headroom=3', 'deployments/microscaler-headroom=0'],
    );
  });

  test('while the nodes have not come it holds; a new out resizes; in shrinks it to 0', async () => {
    api.readyDelayMs = 60_000;
    const { namespace, target } = await setup();
    await target.ask('shop', out(1, 0), signal());
    const w = api.workload('microscaler-headroom', 'deployments', namespace);
    assert.equal(w.replicas, 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(w.replicas, 2, 'pending placeholders are kept');
    await target.ask('shop', out(0, 5 * GI), signal());
    assert.equal(w.replicas, 5);
    await target.ask('shop', inAsk, signal());
    assert.equal(w.replicas, 0);
    api.readyDelayMs = 150;
  });

  test('a Deployment of that name not labelled ours is never touched', async () => {
    const { namespace, target } = await setup({ name: 'taken' });
    api.addWorkload({ name: 'taken', namespace, labels: { app: 'someone-else' }, replicas: 1 });
    const before = api.patches.length;
    await assert.rejects(target.ask('shop', out(1, 0), signal()), (e: Error) => {
      assert.ok(e instanceof TerminalError);
      assert.match(e.message, /not labelled as this instance's headroom.*not touching it/);
      return true;
    });
    await assert.rejects(target.ask('shop', inAsk, signal()), TerminalError);
    assert.equal(api.patches.length, before);
    assert.equal(api.workload('taken', 'deployments', namespace).replicas, 1);
  });

  test('the PriorityClass must exist and be negative; below the autoscaler cutoff it warns', async () => {
    const missing = await setup({ priorityClass: 'nope' });
    await assert.rejects(
      missing.target.ask('shop', out(1, 0), signal()),
      /PriorityClass nope not found; apply deploy/,
    );
    api.priorityClasses.set('zero', { value: 0 });
    const zero = await setup({ priorityClass: 'zero' });
    await assert.rejects(zero.target.ask('shop', out(1, 0), signal()), (e: Error) => {
      assert.ok(e instanceof TerminalError);
      assert.match(e.message, /must have a negative priority/);
      return true;
    });
    api.priorityClasses.set('very-low', { value: -100 });
    const low = await setup({ priorityClass: 'very-low' });
    await low.target.ask('shop', out(1, 0), signal());
    assert.ok(low.logs.some((l) => /^warn: .*expendable-pods-priority-cutoff/.test(l)));
  });

  test('a request with no cpu or memory cannot size placeholders; forbidden is terminal, without the token', async () => {
    const { target } = await setup();
    await assert.rejects(target.ask('shop', out(0, 0), signal()), /no cpu or memory to size placeholders/);
    const other = await setup();
    api.forbidden = true;
    try {
      await assert.rejects(other.target.ask('shop', out(1, 0), signal()), (e: Error) => {
        assert.ok(e instanceof TerminalError);
        assert.match(e.message, /rbac\.yaml/);
        assert.ok(!e.message.includes(TOKEN));
        return true;
      });
    } finally {
      api.forbidden = false;
    }
  });

  test('settings: memory sizes, Kubernetes names, defaults', () => {
    const s = headroomSettingsSchema.parse({ type: 'kubernetes-headroom', podMemory: '512Mi' });
    assert.equal(s.podMemory, 512 * 2 ** 20);
    assert.equal(s.name, 'microscaler-headroom');
    assert.equal(s.image, 'registry.k8s.io/pause:3.9');
    assert.equal(
      headroomSettingsSchema.safeParse({ type: 'kubernetes-headroom', name: 'Bad_Name' }).success,
      false,
    );
    assert.equal(
      headroomSettingsSchema.safeParse({ type: 'kubernetes-headroom', podMemory: '2g' }).success,
      false,
    );
  });
});
