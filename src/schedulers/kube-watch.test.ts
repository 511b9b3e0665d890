// The pod watch against the fake API server: events wake the caller, a dropped stream resumes from the last
// resourceVersion, and 410 Gone (history compacted) means a fresh list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeKubeApi } from '../../test/fakes/kube-api.js';
import { KubeClient } from '../infra/kube-client.js';
import { systemClock } from '../infra/system-clock.js';
import { PodWatch } from './kube-watch.js';

let api: FakeKubeApi;
let client: KubeClient;
before(async () => {
  api = await FakeKubeApi.start();
  api.tokens.add('t');
  client = new KubeClient({ server: api.url, ca: api.certs.ca, token: () => 't', describe: 'test' });
});
after(async () => {
  client.close();
  await api.stop();
});

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('wakes on pod changes of its workload only, resumes after a drop, re-lists after 410 Gone', async () => {
  api.addWorkload({ name: 'web' });
  api.addWorkload({ name: 'other' });
  let calls = 0;
  const watch = new PodWatch({
    client,
    path: '/api/v1/namespaces/default/pods',
    labelSelector: 'app=web',
    onChange: () => calls++,
    clock: systemClock,
    logger: { log() {} },
    what: 'deployment/web',
  });
  try {
    await until('watching', () => api.watchers === 1);
    const afterList = calls;
    api.setReplicas(api.workload('other'), 2);
    await until('other pods ready', () => api.pods('other').ready === 2);
    assert.equal(calls, afterList, 'no wake-up for another workload');

    api.setReplicas(api.workload('web'), 1);
    await until('woken by the new pod', () => calls > afterList);

    // The server drops the stream: resume from the last version, without a new list.
    const lists = watch.lists;
    api.endWatches();
    await until('watching again', () => api.watchers === 1 && watch.streams >= 2);
    const before = calls;
    api.deletePod('web');
    await until('woken after the resume', () => calls > before);
    assert.equal(watch.lists, lists, 'resumed without listing');

    // History compacted while not watching: 410 Gone, then a fresh list and watch.
    api.endWatches();
    api.compact();
    await until('listed again after 410', () => watch.lists === lists + 1 && api.watchers === 1);
    const again = calls;
    api.setReplicas(api.workload('web'), 0);
    await until('woken after the re-list', () => calls > again);
  } finally {
    await watch.stop();
  }
  await until('the server sees the stream closed', () => api.watchers === 0);
});
