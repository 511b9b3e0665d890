// The instance's claim on its name with the kubernetes back-end: a coordination.k8s.io Lease
// `microscaler-<name>-claim` in the workloads' namespace, against the fake API server of
// test/fakes/kube-api.ts (no real cluster runs here). Built as `run` builds it (startInstance).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { ClaimedError } from '../../src/ha/claim.js';
import { KubeLease } from '../../src/ha/kube-lease.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { FakeKubeApi } from '../fakes/kube-api.js';

const TOKEN = 'claim-token';
/** Kubernetes counts whole seconds. */
const TTL = 2000;
let api: FakeKubeApi;
let dir: string;
let kubeconfig: string;
const open: Instance[] = [];

before(async () => {
  api = await FakeKubeApi.start();
  api.tokens.add(TOKEN);
  dir = mkdtempSync(join(tmpdir(), 'microscaler-kube-claim-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: fake
contexts: [{ name: fake, context: { cluster: fake, user: me, namespace: shop } }]
clusters: [{ name: fake, cluster: { server: "${api.url}", certificate-authority-data: ${api.certs.ca.toString('base64')} } }]
users: [{ name: me, user: { token: ${TOKEN} } }]
`,
  );
});
after(async () => {
  await Promise.all(open.map((i) => i.close({ drain: false })));
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config(name: string) {
  api.addWorkload({
    namespace: 'shop',
    name: `${name}-web`,
    labels: { 'microscaler.instance': name, 'microscaler.service': 'web' },
  });
  return parseConfig(
    `
name: ${name}
capacity: { replicas: 4 }
scheduler: { type: kubernetes, kubeconfig: ${kubeconfig} }
services:
  web:
    run: { workload: deployment/${name}-web }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
    { file: 'test.yaml', sourceSchemas, schedulerSchemas },
  );
}

async function start(name: string): Promise<Instance> {
  const instance = await startInstance({
    config: config(name),
    clock: systemClock,
    logger: { log() {} },
    baseDir: dir,
    claimTtlMs: TTL,
    env: {},
  });
  open.push(instance);
  return instance;
}

const holderOf = (name: string) => api.leases.get(`shop/microscaler-${name}-claim`)?.spec.holderIdentity;

test('a second instance of one name refuses to start, naming the holder; a released claim is taken at once', async () => {
  const first = await start('claim-a');
  const holder = first.leadership?.id;
  assert.ok(holder);
  assert.equal(holderOf('claim-a'), holder);
  await assert.rejects(start('claim-a'), (error: unknown) => {
    assert.ok(error instanceof ClaimedError, String(error));
    assert.match(error.message, new RegExp(`already running: held by ${holder}`));
    assert.match(error.message, /Lease shop\/microscaler-claim-a-claim/);
    return true;
  });
  // Another name is another instance: no conflict.
  await start('claim-b');
  await first.close({ drain: false });
  open.splice(open.indexOf(first), 1);
  const t0 = performance.now();
  const third = await start('claim-a');
  assert.ok(performance.now() - t0 < TTL, 'a released claim does not wait for the ttl');
  assert.equal(holderOf('claim-a'), third.leadership?.id);
});

test('the claim of a holder that died (no renewals) is taken over after the ttl', async () => {
  const dead = new KubeLease({
    connection: { server: api.url, ca: api.certs.ca, token: () => TOKEN, describe: 'test token' },
    namespace: 'shop',
    name: 'microscaler-claim-dead-claim',
    ttlMs: TTL,
    id: 'gone-host:1:dead',
  });
  assert.equal(await dead.acquire(AbortSignal.timeout(5000)), true);
  await dead.close();
  const t0 = performance.now();
  const next = await start('claim-dead');
  assert.ok(performance.now() - t0 >= TTL, 'not before the ttl');
  assert.equal(holderOf('claim-dead'), next.leadership?.id);
});

test('a claim taken at run time: the instance stops acting, says so in events and state, and takes it back once free', async () => {
  const instance = await start('claim-c');
  const leadership = instance.leadership;
  assert.ok(leadership);
  const stored = api.leases.get('shop/microscaler-claim-c-claim');
  assert.ok(stored);
  // Someone else writes the Lease (a second instance that thought the claim expired), then dies.
  stored.spec = { ...stored.spec, holderIdentity: 'intruder:9:x', renewTime: new Date().toISOString() };
  stored.resourceVersion = `${stored.resourceVersion}9`;
  const event = (pattern: RegExp) => instance.controller.log.recent().find((e) => pattern.test(e.message));
  await until('the loss reported', () => event(/held by intruder:9:x .*: not acting/)?.kind === 'error');
  assert.deepEqual(leadership.state(), { holder: 'intruder:9:x', self: false });
  assert.equal(leadership.isLeader(), false, 'not acting meanwhile');
  // The intruder never renews: its claim expires after the ttl and the instance takes it back.
  await until('the claim taken back', () => event(/holding instance "claim-c" again/)?.kind === 'recovered');
  assert.equal(holderOf('claim-c'), leadership.id);
  assert.equal(leadership.isLeader(), true);
});

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
