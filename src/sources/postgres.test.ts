import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import { errorOf, liveContext, readSignal, serverGate, uniqueName } from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { createSource } from './registry.js';

// The superuser (trust auth) sets tables and roles up; sources read as a role with only SELECT, as a user's
// would, since a superuser is refused.
const URL = 'postgres://postgres@127.0.0.1:5432/test';
const roleName = (prefix: string) => uniqueName(prefix).replace(/-/g, '_');
const urlAs = (role: string, password?: string) =>
  `postgres://${role}${password ? `:${password}` : ''}@127.0.0.1:5432/test`;
const skip = await serverGate('PostgreSQL', 5432);

test('postgres: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'postgres', url: URL }, ['source.query: expected an SQL query']],
    [{ type: 'postgres', url: URL, query: '  ' }, ['source.query: must not be empty']],
    [
      { type: 'postgres', url: 'mysql://h/db', query: 'select 1' },
      ['source.url: must be a postgres:// or postgresql:// URL with a host'],
    ],
    [
      { type: 'postgres', url: URL, query: 'select 1', allowPrivileged: 'yes' },
      ['source.allowPrivileged: expected true or false'],
    ],
  ];
  for (const [spec, problems] of cases) {
    await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.problems, problems);
      return true;
    });
  }
});

describe('postgres against PostgreSQL', { skip }, () => {
  let db: pg.Client;
  const table = roleName('ms_test_jobs');
  const reader = roleName('ms_test_reader');
  const READER = urlAs(reader);
  const roles = [reader];
  /** A login role for one test, dropped with the others after the suite. */
  const createRole = async (prefix: string, ...grants: string[]) => {
    const role = roleName(prefix);
    roles.push(role);
    await db.query(`create role ${role} login`);
    for (const grant of grants) await db.query(grant.replaceAll('ROLE', role));
    return role;
  };
  before(async () => {
    db = new pg.Client({ connectionString: URL });
    await db.connect();
    await db.query(`create table ${table} (id serial primary key, done boolean not null default false)`);
    await db.query(`create role ${reader} login`);
    await db.query(`grant select on ${table} to ${reader}`);
  });
  after(async () => {
    await db.query(`drop table if exists ${table}`);
    for (const role of roles) {
      await db.query(`drop owned by ${role}`).catch(() => {});
      await db.query(`drop role if exists ${role}`);
    }
    await db.end();
  });

  const read = async (query: string, extra: Record<string, unknown> = {}, url = READER) => {
    const source = await createSource({ type: 'postgres', url, query, ...extra }, liveContext());
    try {
      return await source.read(readSignal());
    } finally {
      await source.close();
    }
  };

  test('the value tracks the rows a query counts, as jobs are added and finished', async () => {
    const source = await createSource(
      { type: 'postgres', url: READER, query: `select count(*) from ${table} where not done` },
      liveContext(),
    );
    const value = async () => {
      const r = await source.read(readSignal());
      assert.ok(r.ok, JSON.stringify(r));
      return r.reading.value;
    };
    try {
      assert.equal(await value(), 0);
      await db.query(`insert into ${table} (done) select false from generate_series(1, 40)`);
      assert.equal(await value(), 40, 'bigint count arrives as a string and is parsed');
      await db.query(
        `update ${table} set done = true where id in (select id from ${table} order by id limit 15)`,
      );
      assert.equal(await value(), 25);
      await db.query(`update ${table} set done = true`);
      assert.equal(await value(), 0);
    } finally {
      await source.close();
    }
  });

  test('rate: the second column is a counter of arrivals', async () => {
    const ctx = fakeContext();
    const source = await createSource(
      {
        type: 'postgres',
        url: READER,
        query: `select count(*) filter (where not done), coalesce(max(id), 0) from ${table}`,
        rate: true,
      },
      ctx,
    );
    try {
      const first = await source.read(readSignal());
      assert.ok(first.ok && first.reading.rate === undefined);
      await db.query(`insert into ${table} (done) select false from generate_series(1, 30)`);
      ctx.clock.advance(3000);
      const r = await source.read(readSignal());
      assert.ok(r.ok);
      assert.equal(r.reading.rate, 10);
    } finally {
      await source.close();
    }
  });

  test('queries that give no number, write, or run too long are clear errors', async () => {
    const cases: [string, RegExp, Record<string, unknown>?][] = [
      ['selec 1', /query failed: syntax error at or near "selec" \(SQLSTATE 42601\)/],
      ['select count(*) from ms_test_no_such_table', /relation "ms_test_no_such_table" does not exist/],
      [`select 'abc'`, /column "\?column\?" is "abc", not a number/],
      ['select null::int', /column "int4" is null, not a number/],
      ['select -3', /is -3; demand cannot be negative/],
      ['select 1 where false', /query returned no rows/],
      ['select * from generate_series(1, 3)', /query returned 3 rows/],
      ['select 1; select 2', /query must be one statement/],
      [`delete from ${table}`, /query tried to write; sources run read-only/],
      [`insert into ${table} default values returning 1`, /query tried to write; sources run read-only/],
      ['select pg_sleep(3)', /statement_timeout|no answer within 300ms/, { timeout: '300ms' }],
      ['select 1', /with rate it needs two: value, counter/, { rate: true }],
    ];
    for (const [query, message, extra] of cases) {
      assert.match(errorOf(await read(query, extra)), message, query);
    }
    const { rows } = await db.query(`select count(*)::int as n from ${table}`);
    assert.ok((rows[0] as { n: number }).n > 0, 'nothing was deleted');
  });

  test('after a failed query the connection is reused for the next read', async () => {
    const source = await createSource({ type: 'postgres', url: READER, query: 'select 1/0' }, liveContext());
    try {
      for (let i = 0; i < 3; i++) assert.match(errorOf(await source.read(readSignal())), /division by zero/);
      const { rows } = await db.query(
        `select count(*)::int as n from pg_stat_activity where application_name = 'microscaler' and datname = 'test'`,
      );
      assert.ok((rows[0] as { n: number }).n >= 1, 'a session stays open');
    } finally {
      await source.close();
    }
  });

  test('a superuser is refused with a message, and copy ... to program never runs its command', async () => {
    // The program runs on the database host as the server's OS user: a folder it may write to.
    const dir = mkdtempSync(join(tmpdir(), 'ms-pg-program-'));
    chmodSync(dir, 0o777);
    const marker = join(dir, 'ran');
    try {
      const copy = `copy (select 1) to program 'touch ${marker}'`;
      const source = await createSource({ type: 'postgres', url: URL, query: copy }, liveContext());
      try {
        for (let i = 0; i < 3; i++) {
          const error = errorOf(await source.read(readSignal()));
          assert.match(error, /refused to run the query as role "postgres", which is a superuser/);
          assert.match(error, /role with only SELECT/);
          assert.match(error, /allowPrivileged: true/);
        }
      } finally {
        await source.close();
      }
      assert.equal(existsSync(marker), false, 'the shell command ran on the database host');
      for (const query of ['select pg_reload_conf()::int', 'select pg_cancel_backend(0)::int']) {
        assert.match(errorOf(await read(query, {}, URL)), /is a superuser/, query);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('members of server-reaching roles are refused; a role with only SELECT reads', async () => {
    const cases: [string[], RegExp][] = [
      [['grant pg_execute_server_program to ROLE'], /which is a member of pg_execute_server_program:/],
      [
        ['grant pg_signal_backend to ROLE', 'grant pg_read_server_files to ROLE'],
        /which is a member of pg_read_server_files, pg_signal_backend:/,
      ],
      [['grant pg_write_server_files to ROLE'], /is a member of pg_write_server_files/],
      [['grant execute on function pg_reload_conf() to ROLE'], /which may execute pg_reload_conf\(\):/],
    ];
    for (const [grants, message] of cases) {
      const role = await createRole('ms_test_priv', ...grants);
      assert.match(errorOf(await read('select 1', {}, urlAs(role))), message, grants.join('; '));
    }
    const r = await read(`select count(*) from ${table}`);
    assert.ok(r.ok, JSON.stringify(r));
    // Without membership in the risky roles, what they guard is refused by the server itself.
    assert.match(
      errorOf(await read(`copy (select 1) to program 'true'`)),
      /permission denied|must be superuser|pg_execute_server_program/,
    );
  });

  test('allowPrivileged lets a superuser through', async () => {
    const r = await read('select 7', { allowPrivileged: true }, URL);
    assert.deepEqual(r.ok && r.reading.value, 7, JSON.stringify(r));
  });

  test('a refused role is looked at again a few seconds later, so fixing it needs no restart', async () => {
    const role = await createRole('ms_test_fixed', 'grant pg_signal_backend to ROLE');
    const ctx = fakeContext();
    const source = await createSource({ type: 'postgres', url: urlAs(role), query: 'select 3' }, ctx);
    try {
      assert.match(errorOf(await source.read(readSignal())), /member of pg_signal_backend/);
      await db.query(`revoke pg_signal_backend from ${role}`);
      assert.match(errorOf(await source.read(readSignal())), /member of pg_signal_backend/, 'verdict kept');
      ctx.clock.advance(5000);
      const r = await source.read(readSignal());
      assert.deepEqual(r.ok && r.reading.value, 3, JSON.stringify(r));
    } finally {
      await source.close();
    }
  });

  connectionContract('postgres', {
    serverPort: 5432,
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'postgres',
          url: urlAs(reader, password).replace(':5432/', `:${port}/`),
          query: 'select 7',
        },
        ctx,
      ),
    healthy: (value) => value === 7,
  });
});
