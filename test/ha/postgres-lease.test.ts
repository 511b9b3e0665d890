// The PostgreSQL lease (src/ha/postgres-lease.ts) against a real PostgreSQL on 127.0.0.1:5432, and the
// failover promises of docs/reliability.md end to end over it. Each test run uses its own table.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { PostgresLease } from '../../src/ha/postgres-lease.js';
import { serverGate, uniqueName } from '../sources/servers.js';
import {
  cuttableProxy,
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

const URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const TTL = 900;
const skip = await serverGate('PostgreSQL', 5432);
const signal = () => AbortSignal.timeout(2000);

describe('postgres lease', { skip }, () => {
  const table = uniqueName('microscaler_leases').replaceAll('-', '_');
  const leases: PostgresLease[] = [];
  const open: Instance[] = [];
  const admin = new pg.Pool({ connectionString: URL, max: 2 });
  after(async () => {
    await Promise.all(open.map((i) => i.close()));
    await Promise.all(leases.map((l) => l.close().catch(() => {})));
    if (!skip) await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    await admin.end();
  });
  function lease(key: string, ttlMs = 1000, id?: string, url = URL): PostgresLease {
    const l = new PostgresLease({ url, key, ttlMs, table, ...(id ? { id } : {}) });
    leases.push(l);
    return l;
  }
  function pair(ttlMs = 1000): [PostgresLease, PostgresLease, string] {
    const key = uniqueName('lease');
    return [lease(key, ttlMs), lease(key, ttlMs), key];
  }
  /** Milliseconds left on the lease, by the server's clock. */
  async function left(key: string): Promise<number> {
    const { rows } = await admin.query(
      `SELECT extract(epoch FROM expires_at - clock_timestamp()) * 1000 AS ms FROM "${table}" WHERE key = $1`,
      [key],
    );
    return rows.length === 0 ? Number.NaN : Number(rows[0].ms);
  }

  test('acquire: one holder at a time (the table is created), with the ttl counted by the server', async () => {
    const [a, b, key] = pair(1000);
    assert.equal(await a.holder(signal()), null);
    assert.equal(await a.acquire(signal()), true);
    assert.equal(await b.acquire(signal()), false);
    assert.equal(await a.acquire(signal()), true, 'acquiring again as the holder keeps it');
    assert.equal(await b.holder(signal()), a.id);
    const ms = await left(key);
    assert.ok(ms > 0 && ms <= 1000, `${ms}ms left`);
  });

  test('acquire races: of many instances taking a free lease at once, exactly one wins', async () => {
    const key = uniqueName('race');
    const many = Array.from({ length: 8 }, () => lease(key, 3000));
    const won = await Promise.all(many.map((l) => l.acquire(signal())));
    assert.equal(won.filter(Boolean).length, 1, JSON.stringify(won));
  });

  test('renew: only the holder extends the lease', async () => {
    const [a, b, key] = pair(3000);
    assert.equal(await a.renew(signal()), false, 'nobody holds it: nothing to renew');
    assert.equal(await a.acquire(signal()), true);
    await delay(1000);
    assert.equal(await b.renew(signal()), false);
    assert.ok((await left(key)) <= 2000, 'a follower renewal changed nothing');
    assert.equal(await a.renew(signal()), true);
    // Margins for a loaded machine: 1 s apart, the two readings cannot be confused.
    assert.ok((await left(key)) > 2500, 'the holder renewal extended it to a full ttl');
  });

  test('release: only the holder deletes the lease; then another takes it', async () => {
    const [a, b] = pair(1000);
    assert.equal(await a.acquire(signal()), true);
    await b.release();
    assert.equal(await b.holder(signal()), a.id, 'a follower release leaves it alone');
    await a.release();
    assert.equal(await b.holder(signal()), null);
    assert.equal(await b.acquire(signal()), true);
    assert.equal(await a.renew(signal()), false);
  });

  test('expiry: a lease not renewed within its ttl is free for another', async () => {
    const [a, b] = pair(300);
    assert.equal(await a.acquire(signal()), true);
    await delay(150);
    assert.equal(await b.acquire(signal()), false);
    await delay(250);
    assert.equal(await b.holder(signal()), null, 'an expired lease has no holder');
    assert.equal(await b.acquire(signal()), true);
    assert.equal(await a.renew(signal()), false, 'the old holder cannot renew it back');
  });

  test('a late answer does not count: a renewal stuck behind a lock fails by ttl/3 and never lands', async () => {
    const [a, , key] = pair(900);
    assert.equal(await a.acquire(signal()), true);
    const before = await left(key);
    // Another session holds the row: the renewal waits for its lock.
    const blocker = await admin.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "${table}" WHERE key = $1 FOR UPDATE`, [key]);
      const started = performance.now();
      await assert.rejects(a.renew(AbortSignal.timeout(5000)));
      const took = performance.now() - started;
      assert.ok(took < 300 + 300, `gave up after ${Math.round(took)}ms (bound ttl/3 = 300ms)`);
      await delay(100);
    } finally {
      await blocker.query('COMMIT');
      blocker.release();
    }
    await delay(100);
    // statement_timeout cancelled it on the server: the lease was not extended after we gave up.
    assert.ok((await left(key)) < before - 150, 'the abandoned renewal did not take effect later');
  });

  test('reconnects after its connection dies (pg_terminate_backend)', async () => {
    const id = uniqueName('term');
    const a = lease(uniqueName('lease'), 1000, id);
    assert.equal(await a.acquire(signal()), true);
    const { rows } = await admin.query(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
      [`microscaler-lease ${id}`.slice(0, 63)],
    );
    assert.equal(rows.length, 1, 'found its session');
    // The first call may meet the dead connection; within a few it is back.
    let renewed = false;
    for (let i = 0; i < 5 && !renewed; i++) renewed = await a.renew(signal()).catch(() => false);
    assert.equal(renewed, true);
  });

  test('an unreachable PostgreSQL fails the call, bounded by the signal', async () => {
    const l = lease(uniqueName('x'), 600, undefined, 'postgres://postgres@127.0.0.1:1/postgres');
    const started = performance.now();
    await assert.rejects(l.acquire(AbortSignal.timeout(300)));
    assert.ok(performance.now() - started < 1000);
  });

  describe('failover', () => {
    async function two(urlA = URL, aFirst = false) {
      const key = uniqueName('ha');
      const backend = new SharedBackend();
      const a = instance('a', lease(key, TTL, uniqueName('a'), urlA), TTL, backend);
      open.push(a);
      if (aFirst) await waitFor('a leads', () => a.leadership.isLeader(), 3000);
      const b = instance('b', lease(key, TTL, uniqueName('b')), TTL, backend);
      open.push(b);
      return { a, b, backend, key };
    }

    test('two instances: exactly one leads and only it scales; the follower still plans', async () => {
      const { a, b, backend, key } = await two();
      const leader = await expectOneActs(a, b, backend);
      const { rows } = await admin.query(`SELECT holder FROM "${table}" WHERE key = $1`, [key]);
      assert.equal(rows[0]?.holder, leader.leadership.id);
      await Promise.all([a.close(), b.close()]);
    });

    test('a leader that stops cleanly releases the lease: the follower takes over within ttl/3', async () => {
      const { a, b, backend } = await two();
      await expectCleanHandOver(a, b, backend, TTL);
      await Promise.all([a.close(), b.close()]);
    });

    test("the leader's session terminated: it reconnects and keeps leading, nobody else acts", async () => {
      const { a, b, backend } = await two();
      await waitFor('a leader', () => a.leadership.isLeader() || b.leadership.isLeader(), 3000);
      const leader = leaderOf(a, b);
      const follower = otherOf(leader, a, b);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [`microscaler-lease ${leader.leadership.id}`.slice(0, 63)],
      );
      const killed = performance.now();
      await delay(TTL * 1.5);
      assert.equal(leader.leadership.isLeader(), true, 'still leading after one lost renewal');
      assert.ok(
        backend.by(leader.who).some((c) => c.at > killed + TTL),
        'and still scaling',
      );
      assert.equal(backend.by(follower.who).length, 0, 'the follower never scaled');
      await Promise.all([a.close(), b.close()]);
    });

    test('a leader cut off from PostgreSQL (silent network) stops acting first and is replaced within ttl + ttl/3', async () => {
      const proxy = await cuttableProxy(5432);
      try {
        const { a, b, backend, key } = await two(
          `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
          true,
        );
        await delay(400);
        assert.equal(b.leadership.isLeader(), false);
        proxy.cut();
        await expectFencedFailover(a, b, backend, performance.now(), TTL);
        const { rows } = await admin.query(`SELECT holder FROM "${table}" WHERE key = $1`, [key]);
        assert.equal(rows[0]?.holder, b.leadership.id);
        await Promise.all([a.close(), b.close()]);
      } finally {
        await proxy.close();
      }
    });
  });
});
