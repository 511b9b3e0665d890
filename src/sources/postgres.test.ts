import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import { errorOf, liveContext, readSignal, serverGate, uniqueName } from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { createSource } from './registry.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const skip = await serverGate('PostgreSQL', 5432);

test('postgres: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'postgres', url: URL }, ['source.query: expected an SQL query']],
    [{ type: 'postgres', url: URL, query: '  ' }, ['source.query: must not be empty']],
    [
      { type: 'postgres', url: 'mysql://h/db', query: 'select 1' },
      ['source.url: must be a postgres:// or postgresql:// URL with a host'],
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
  const table = uniqueName('ms_test_jobs').replace(/-/g, '_');
  before(async () => {
    db = new pg.Client({ connectionString: URL });
    await db.connect();
    await db.query(`create table ${table} (id serial primary key, done boolean not null default false)`);
  });
  after(async () => {
    await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  const read = async (query: string, extra: Record<string, unknown> = {}) => {
    const source = await createSource({ type: 'postgres', url: URL, query, ...extra }, liveContext());
    try {
      return await source.read(readSignal());
    } finally {
      await source.close();
    }
  };

  test('the value tracks the rows a query counts, as jobs are added and finished', async () => {
    const source = await createSource(
      { type: 'postgres', url: URL, query: `select count(*) from ${table} where not done` },
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
        url: URL,
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
    const source = await createSource({ type: 'postgres', url: URL, query: 'select 1/0' }, liveContext());
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

  connectionContract('postgres', {
    serverPort: 5432,
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'postgres',
          url: `postgres://postgres${password ? `:${password}` : ''}@127.0.0.1:${port}/test`,
          query: 'select 7',
        },
        ctx,
      ),
    healthy: (value) => value === 7,
  });
});
