// Kubernetes quantities, and the cluster's capacity read from the fake API server (test/fakes/kube-api.ts:
// nodes with allocatable and Ready, and pods of others with requests); no real cluster runs here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeKubeApi, type FakeNode, type OtherPod } from '../../test/fakes/kube-api.js';
import { KubeClient } from '../infra/kube-client.js';
import { kubeResources, quantity } from './kube-nodes.js';

test('quantity: decimal and binary suffixes, millicores, exponents; garbage is NaN', () => {
  const cases: [string, number][] = [
    ['2', 2],
    ['3800m', 3.8],
    ['250000000n', 0.25],
    ['1.5', 1.5],
    ['16Gi', 16 * 2 ** 30],
    ['16384Ki', 16 * 2 ** 20],
    ['1G', 1e9],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['1k', 1000],
    ['.5', 0.5],
  ];
  for (const [text, want] of cases)
    assert.ok(Math.abs(quantity(text) - want) < 1e-9, `${text} → ${quantity(text)}`);
  for (const bad of ['', 'Gi', '1 Gi', '1gi', '1Xi', 'ten', undefined])
    assert.ok(Number.isNaN(quantity(bad)), `${bad}`);
});

describe('kubeResources (fake API server)', () => {
  const TOKEN = 'nodes-token';
  let api: FakeKubeApi;
  let client: KubeClient;
  before(async () => {
    api = await FakeKubeApi.start();
    api.tokens.add(TOKEN);
    client = new KubeClient({
      server: api.url,
      ca: api.certs.ca,
      token: () => TOKEN,
      describe: 'test token',
    });
  });
  after(() => api.stop());
  const ours = (p: { labels: Readonly<Record<string, string>> }) => p.labels.app === 'shop-web';

  test('Ready, schedulable nodes matching the selector, less what pods that are not ours request', async () => {
    const node = (name: string, extra: Partial<FakeNode> = {}) =>
      api.nodes.set(name, {
        name,
        labels: { pool: 'apps' },
        allocatable: { cpu: '3800m', memory: '15Gi' },
        ready: true,
        unschedulable: false,
        ...extra,
      });
    node('n1');
    node('n2');
    node('n3', { ready: false });
    node('n4', { unschedulable: true });
    node('n5', { labels: { pool: 'batch' } });
    const pod = (
      name: string,
      nodeName: string,
      labels: Record<string, string>,
      phase: OtherPod['phase'] = 'Running',
    ) =>
      api.otherPods.push({
        name,
        namespace: 'default',
        node: nodeName,
        labels,
        phase,
        containers: [{ cpu: '500m', memory: '1Gi' }, { cpu: '250m' }],
      });
    pod('logging-agent', 'n1', { app: 'fluent-bit' }); // someone else's: 0.75 cpu, 1 GiB
    pod('web-1', 'n2', { app: 'shop-web' }); // ours: left in
    pod('job-done', 'n2', { app: 'report' }, 'Succeeded'); // finished: holds nothing
    pod('on-n3', 'n3', { app: 'other' }); // on a node not counted
    const got = await kubeResources(client, { ours, nodeSelector: { pool: 'apps' } });
    assert.equal(got.nodes, 2);
    assert.ok(Math.abs(got.cpu - (7.6 - 0.75)) < 1e-9, `cpu ${got.cpu}`);
    assert.equal(got.memory, 30 * 2 ** 30 - 2 ** 30);
    assert.deepEqual(got.notes, ['node n3 not ready', 'node n4 cordoned']);
    // Without a selector the other pool's node counts too.
    assert.equal((await kubeResources(client, { ours })).nodes, 3);
  });

  test('an API server that refuses is an error, never a capacity of 0', async () => {
    api.forbidden = true;
    try {
      await assert.rejects(kubeResources(client, { ours }), /forbidden/);
    } finally {
      api.forbidden = false;
    }
  });
});
