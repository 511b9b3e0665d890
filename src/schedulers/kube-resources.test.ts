// The kubernetes back-end's resources(): a pod is ours when it is in our namespace and matches the selector
// of a workload we scale (or is this instance's headroom placeholder); the others' requests are taken off the nodes' allocatable (fake API server).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeKubeApi } from '../../test/fakes/kube-api.js';
import { systemClock } from '../infra/system-clock.js';
import { selectorMatches } from './kube-workload.js';
import { KubernetesScheduler } from './kubernetes.js';

test('selectorMatches: matchLabels and every matchExpressions operator, as the API server matches', () => {
  const labels = { app: 'web', tier: 'front' };
  const cases: [string, Parameters<typeof selectorMatches>[0], boolean][] = [
    ['matchLabels equal', { matchLabels: { app: 'web' } }, true],
    ['matchLabels differ', { matchLabels: { app: 'db' } }, false],
    ['matchLabels missing key', { matchLabels: { zone: 'a' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    ['In, not among', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, false],
    ['In, key absent', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] }, true],
    ['NotIn, among', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    ['NotIn, key absent', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['Exists, absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist, present', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['unknown operator', { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, false],
    [
      'both parts must hold',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
      false,
    ],
    ['no selector', undefined, false],
  ];
  for (const [what, selector, want] of cases) assert.equal(selectorMatches(selector, labels), want, what);
});

describe('KubernetesScheduler.resources (fake API server)', () => {
  const TOKEN = 'resources-token';
  let api: FakeKubeApi;
  before(async () => {
    api = await FakeKubeApi.start();
    api.tokens.add(TOKEN);
  });
  after(() => api.stop());

  test("our replicas' requests stay in; others' (another selector, or our labels in another namespace) are taken off", async () => {
    api.addWorkload({
      name: 'shop-web',
      labels: { 'microscaler.instance': 'shop', 'microscaler.service': 'web' },
    });
    for (const name of ['n1', 'n2'])
      api.nodes.set(name, {
        name,
        labels: { pool: 'apps' },
        allocatable: { cpu: '4', memory: '16Gi' },
        ready: true,
        unschedulable: false,
      });
    api.nodes.set('n3', {
      name: 'n3',
      labels: { pool: 'gpu' },
      allocatable: { cpu: '8', memory: '64Gi' },
      ready: true,
      unschedulable: false,
    });
    const pod = (name: string, namespace: string, app: string, node = 'n1') =>
      api.otherPods.push({
        name,
        namespace,
        node,
        labels: { app },
        phase: 'Running',
        containers: [{ cpu: '1', memory: '1Gi' }],
      });
    pod('web-a', 'default', 'shop-web'); // ours (matches the workload's selector, in its namespace)
    pod('web-b', 'default', 'shop-web', 'n2'); // ours
    pod('look-alike', 'staging', 'shop-web'); // our labels, another namespace: not ours
    pod('agent', 'kube-system', 'fluent-bit', 'n2'); // someone else's
    // This instance's kubernetes-headroom placeholder (any namespace): it gives way, so its room is ours.
    api.otherPods.push({
      name: 'placeholder',
      namespace: 'headroom',
      node: 'n2',
      labels: { 'microscaler.instance': 'shop', 'microscaler.headroom': 'true' },
      phase: 'Running',
      containers: [{ cpu: '1', memory: '1Gi' }],
    });
    // Another instance's placeholder: not ours.
    api.otherPods.push({
      name: 'their-placeholder',
      namespace: 'headroom',
      node: 'n3',
      labels: { 'microscaler.instance': 'other', 'microscaler.headroom': 'true' },
      phase: 'Running',
      containers: [{ cpu: '1', memory: '1Gi' }],
    });
    const scheduler = await KubernetesScheduler.create(
      {},
      {
        clock: systemClock,
        logger: { log: () => {} },
        instance: 'shop',
        services: [{ name: 'web', run: { workload: 'shop-web' } }],
      },
      {
        target: {
          connection: { server: api.url, ca: api.certs.ca, token: () => TOKEN, describe: 'test token' },
          namespace: undefined,
        },
      },
    );
    try {
      const signal = AbortSignal.timeout(10_000);
      assert.deepEqual(await scheduler.resources(signal, { pool: 'apps' }), {
        cpu: 8 - 2,
        memory: (32 - 2) * 2 ** 30,
        nodes: 2,
        notes: [],
      });
      const all = await scheduler.resources(signal);
      assert.equal(all.nodes, 3);
      assert.equal(all.cpu, 16 - 3, "the other instance's placeholder on n3 is taken off");
    } finally {
      await scheduler.close();
    }
  });
});
