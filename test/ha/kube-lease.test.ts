// The Kubernetes Lease (src/ha/kube-lease.ts) against the fake API server of test/fakes/kube-api.ts (no
// real cluster runs here), and the failover promises of docs/reliability.md end to end over it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { KubeLease } from '../../src/ha/kube-lease.js';
import { FakeKubeApi } from '../fakes/kube-api.js';
import {
  expectCleanHandOver,
  expectFencedFailover,
  expectOneActs,
  type Instance,
  instance,
  leaderOf,
  otherOf,
  SharedBackend,
  waitFor,
} from './harness.js';

const NS = 'ops';
/** For failover; Kubernetes counts whole seconds. Each request is bounded by ttl/3. */
const TTL = 1000;
/** For the lease's own semantics: a bound (1 s) that a loaded machine's TLS handshakes stay well within. */
const SLOW_TTL = 3000;
const signal = () => AbortSignal.timeout(2000);

describe('kubernetes lease', () => {
  let api: FakeKubeApi;
  const leases: KubeLease[] = [];
  const open: Instance[] = [];
  before(async () => {
    api = await FakeKubeApi.start();
  });
  after(async () => {
    await Promise.all(open.map((i) => i.close()));
    await Promise.all(leases.map((l) => l.close()));
    await api.stop();
  });

  /** A lease client with its own bearer token, so the fake can refuse or silence it alone. */
  function lease(name: string, ttlMs = SLOW_TTL, timer?: () => number): { lease: KubeLease; token: string } {
    const token = randomUUID();
    api.tokens.add(token);
    const l = new KubeLease({
      connection: { server: api.url, ca: api.certs.ca, token: () => token, describe: 'test token' },
      namespace: NS,
      name,
      ttlMs,
      ...(timer ? { timer } : {}),
    });
    leases.push(l);
    return { lease: l, token };
  }
  const stored = (name: string) => api.leases.get(`${NS}/${name}`);
  let serial = 0;
  const fresh = () => `leader-${++serial}`;

  test('acquire creates the Lease (201) with the holder, whole-second duration and times; one holder at a time', async () => {
    const name = fresh();
    const { lease: a } = lease(name, 2500);
    const { lease: b } = lease(name, 2500);
    assert.equal(await a.holder(signal()), null, 'no Lease yet (404)');
    assert.equal(await a.acquire(signal()), true);
    const spec = stored(name)?.spec ?? {};
    assert.equal(spec.holderIdentity, a.id);
    assert.equal(spec.leaseDurationSeconds, 3, '2500ms rounds up to 3 s');
    assert.equal(spec.leaseTransitions, 0);
    assert.match(String(spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime');
    assert.equal(await b.acquire(signal()), false);
    assert.equal(await a.acquire(signal()), true, 'acquiring again as the holder keeps it');
    assert.equal(await b.holder(signal()), a.id);
  });

  test('two creating at once: one gets 201, the other 409 AlreadyExists and loses', async () => {
    const name = fresh();
    const many = Array.from({ length: 5 }, () => lease(name).lease);
    const won = await Promise.all(many.map((l) => l.acquire(signal())));
    assert.equal(won.filter(Boolean).length, 1, JSON.stringify(won));
  });

  test('renew: only the holder renews; each renewal is a new resourceVersion and renewTime', async () => {
    const name = fresh();
    const { lease: a } = lease(name);
    const { lease: b } = lease(name);
    assert.equal(await a.renew(signal()), false, 'nobody holds it: nothing to renew');
    assert.equal(await a.acquire(signal()), true);
    const first = { ...stored(name) };
    await delay(5);
    assert.equal(await b.renew(signal()), false);
    assert.equal(stored(name)?.resourceVersion, first.resourceVersion, 'a follower renewal wrote nothing');
    assert.equal(await a.renew(signal()), true);
    assert.notEqual(stored(name)?.resourceVersion, first.resourceVersion);
    assert.notEqual(stored(name)?.spec.renewTime, first.spec?.renewTime);
    assert.equal(stored(name)?.spec.acquireTime, first.spec?.acquireTime, 'acquireTime kept');
  });

  test('a stale write loses: a PUT after someone else wrote the Lease gets 409 Conflict, not the Lease', async () => {
    const name = fresh();
    const { lease: a } = lease(name);
    assert.equal(await a.acquire(signal()), true);
    const before = stored(name)?.spec.renewTime;
    // Between a's GET and its PUT, someone else writes the Lease (a new resourceVersion).
    api.foreignLeaseWrites = 1;
    assert.equal(await a.renew(signal()), false);
    assert.equal(api.foreignLeaseWrites, 0, 'the PUT was made, and refused');
    assert.equal(stored(name)?.spec.renewTime, before, 'the stale renewal changed nothing');
    assert.equal(await a.renew(signal()), true, 'reading it again, a renews');
  });

  test('release: only the holder gives it up (no holder left); then another takes it at once', async () => {
    const name = fresh();
    const { lease: a } = lease(name);
    const { lease: b } = lease(name);
    assert.equal(await a.acquire(signal()), true);
    await b.release();
    assert.equal(stored(name)?.spec.holderIdentity, a.id, 'a follower release leaves it alone');
    await a.release();
    assert.equal(stored(name)?.spec.holderIdentity, null);
    assert.equal(await b.holder(signal()), null);
    assert.equal(await b.acquire(signal()), true);
    assert.equal(stored(name)?.spec.leaseTransitions, 1, 'a new holder counts a transition');
    assert.equal(await a.renew(signal()), false);
  });

  test("expiry is judged on the follower's own clock, from when it saw the record change", async () => {
    const name = fresh();
    let now = 0; // the follower's monotonic clock, driven by the test
    const { lease: a } = lease(name);
    const { lease: b } = lease(name, SLOW_TTL, () => now);
    assert.equal(await a.acquire(signal()), true);
    // The Lease's renewTime says nothing to b: even a record written "long ago" by wall clock counts from
    // the moment b first sees it.
    const l = stored(name);
    assert.ok(l);
    l.spec = { ...l.spec, renewTime: '2001-01-01T00:00:00.000000Z' };
    assert.equal(await b.acquire(signal()), false, 'first sight: b starts counting now');
    now = 2999;
    assert.equal(await b.acquire(signal()), false, 'unchanged for less than leaseDurationSeconds (3 s)');
    assert.equal(await a.renew(signal()), true);
    now = 4500;
    assert.equal(await b.acquire(signal()), false, 'a renewed: the count starts again');
    now = 7499;
    assert.equal(await b.holder(signal()), a.id);
    now = 7500;
    assert.equal(await b.holder(signal()), null, 'unchanged for 3 s on the follower clock: expired for it');
    assert.equal(await b.acquire(signal()), true);
    assert.equal(stored(name)?.spec.holderIdentity, b.id);
    assert.equal(stored(name)?.spec.leaseTransitions, 1);
    assert.equal(await a.renew(signal()), false, 'the old holder cannot renew it back');
  });

  test('a late answer does not count: a slow API server fails the call within ttl/3', async () => {
    const { lease: a } = lease(fresh(), TTL);
    api.delayMs = 1000;
    try {
      const started = performance.now();
      await assert.rejects(a.acquire(AbortSignal.timeout(5000)));
      const took = performance.now() - started;
      assert.ok(took < TTL / 3 + 300, `gave up after ${Math.round(took)}ms`);
    } finally {
      api.delayMs = 0;
    }
  });

  describe('failover', () => {
    function two(): { a: Instance; b: Instance; backend: SharedBackend; name: string; tokens: string[] } {
      const name = fresh();
      const backend = new SharedBackend();
      const la = lease(name, TTL);
      const lb = lease(name, TTL);
      const a = instance('a', la.lease, TTL, backend);
      const b = instance('b', lb.lease, TTL, backend);
      open.push(a, b);
      return { a, b, backend, name, tokens: [la.token, lb.token] };
    }

    test('two instances: exactly one leads and only it scales; the follower still plans', async () => {
      const { a, b, backend, name } = two();
      const leader = await expectOneActs(a, b, backend);
      assert.equal(stored(name)?.spec.holderIdentity, leader.leadership.id);
      await Promise.all([a.close(), b.close()]);
    });

    test('a leader that stops cleanly releases the Lease: the follower takes over within ttl/3', async () => {
      const { a, b, backend } = two();
      await expectCleanHandOver(a, b, backend, TTL);
      await Promise.all([a.close(), b.close()]);
    });

    test('a leader the API server refuses (401) stops acting first and is replaced within ttl + ttl/3', async () => {
      const { a, b, backend, tokens } = two();
      await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 3000);
      const leader = leaderOf(a, b);
      api.tokens.delete(tokens[leader === a ? 0 : 1] ?? '');
      await expectFencedFailover(leader, otherOf(leader, a, b), backend, performance.now(), TTL);
      await Promise.all([a.close(), b.close()]);
    });

    test('a leader cut off from the API server (requests never answered) stops acting first', async () => {
      const { a, b, backend, name, tokens } = two();
      await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 3000);
      const leader = leaderOf(a, b);
      const follower = otherOf(leader, a, b);
      api.stalledTokens.add(tokens[leader === a ? 0 : 1] ?? '');
      await expectFencedFailover(leader, follower, backend, performance.now(), TTL);
      assert.equal(stored(name)?.spec.holderIdentity, follower.leadership.id);
      await Promise.all([a.close(), b.close()]);
    });
  });
});
