// pg loads when the first postgres source is built: a config without one never pays for it.
import type { Pool, PoolClient, QueryArrayConfig, QueryResult } from 'pg';
import { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { Clock, Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor } from '../infra/redact.js';
import { abortable } from './abortable.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { PrivilegedRoleError, privilegeRefusal } from './postgres-privileges.js';
import { rateWindowSetting, timeoutSetting, urlSetting } from './settings.js';

export const postgresSchema = z.strictObject({
  /** postgres://user:password@host:5432/db; libpq's PG* environment variables fill in what it leaves out. */
  url: urlSetting(['postgres', 'postgresql']),
  /** One statement returning one row: the demand in its first column (and, with `rate`, a counter in its second). */
  query: z.string({ error: 'expected an SQL query' }).trim().min(1, 'must not be empty'),
  /** The second column is a counter of arrivals (e.g. max(id) of a serial); rate = its growth per second. */
  rate: z.boolean().default(false),
  rateWindow: rateWindowSetting(),
  /** Also the server-side statement_timeout. */
  timeout: timeoutSetting(),
  /**
   * Run the query even when the role is a superuser or may run programs, read or write server files, or
   * signal other sessions. Off: such a connection is refused, since read-only does not contain it.
   */
  allowPrivileged: z.boolean({ error: 'expected true or false' }).default(false),
});
export type PostgresSettings = z.output<typeof postgresSchema>;

/** How long a refused connection's verdict stands before its role is looked at again. */
const ROLE_RECHECK_MS = 5000;

/**
 * A number from an SQL query, run in a read-only transaction with a statement timeout, over one pooled
 * connection that pg replaces when it breaks. The query goes over the extended protocol, which allows a
 * single statement only, so a query cannot end the read-only transaction and run something else. Read-only
 * does not contain a privileged role, so such a role is refused (postgres-privileges.ts).
 */
export class PostgresSource implements Source {
  private readonly settings: PostgresSettings;
  private readonly guard: GuardedRead;
  private readonly pool: Promise<Pool>;
  private readonly clock: Clock;
  /** Each connection's role is checked once; a refused one again after a while, in case it was fixed. */
  private readonly roleChecks = new WeakMap<PoolClient, { refusal: string | undefined; at: number }>();

  constructor(settings: PostgresSettings, ctx: SourceContext) {
    this.settings = settings;
    this.clock = ctx.clock;
    const redactor = Redactor.forUrls([settings.url], [process.env.PGPASSWORD]);
    const where = displayUrl(settings.url);
    this.guard = new GuardedRead({
      label: `postgres ${where}`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor,
      ...(settings.rate ? { rateWindowMs: settings.rateWindow } : {}),
    });
    this.pool = import('pg').then(({ default: pg }) => {
      const pool = new pg.Pool({
        connectionString: settings.url,
        max: 1,
        connectionTimeoutMillis: settings.timeout,
        statement_timeout: settings.timeout,
        // Belt and braces: every transaction of this connection is read-only, not only the ones we open.
        options: '-c default_transaction_read_only=on',
        application_name: 'microscaler',
        allowExitOnIdle: true,
      });
      // An idle connection that breaks emits here; the pool drops it and the next read opens a new one.
      pool.on('error', (error) =>
        ctx.logger.log('debug', 'postgres connection error', {
          url: where,
          error: redactor.redact(errorMessage(error)),
        }),
      );
      return pool;
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    return this.guard.run(signal, (bounded) => abortable(this.query(), bounded));
  }

  // Not cut short by the signal: the connection stays busy until the server answers (statement_timeout
  // bounds that), and only then goes back to the pool.
  private async query(): Promise<{ value: number; counter?: number }> {
    const client = await (await this.pool).connect();
    let broken: Error | undefined; // a connection that failed is destroyed, not returned to the pool
    // A connection that ends while checked out emits 'error' on the client, and the pool only listens to
    // idle ones: without this the process would crash on a server restart.
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      await this.checkRole(client);
      await client.query('BEGIN READ ONLY');
      let result: QueryResult<unknown[]>;
      try {
        result = await client.query<unknown[]>(extendedArrayQuery(this.settings.query));
      } catch (error) {
        if (isConnectionError(error)) broken = error as Error;
        throw explainPgError(error);
      } finally {
        if (!broken) {
          await client.query('ROLLBACK').catch((error: Error) => {
            broken = error;
          });
        }
      }
      return this.sample(result);
    } catch (error) {
      if (!broken && !(error instanceof PrivilegedRoleError) && isConnectionError(error)) {
        broken = error as Error;
      }
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  private async checkRole(client: PoolClient): Promise<void> {
    if (this.settings.allowPrivileged) return;
    const now = this.clock.now();
    let check = this.roleChecks.get(client);
    if (!check || (check.refusal !== undefined && now - check.at >= ROLE_RECHECK_MS)) {
      check = { refusal: await privilegeRefusal(client), at: now };
      this.roleChecks.set(client, check);
    }
    if (check.refusal !== undefined) throw new PrivilegedRoleError(check.refusal);
  }

  private sample(result: QueryResult<unknown[]>): { value: number; counter?: number } {
    const rows = result.rows;
    if (rows.length === 0) throw new Error('query returned no rows (it must return one row)');
    if (rows.length > 1) throw new Error(`query returned ${rows.length} rows (it must return one row)`);
    const row = rows[0] as unknown[];
    const columns = result.fields.map((f) => f.name);
    const wanted = this.settings.rate ? 2 : 1;
    if (row.length < wanted) {
      throw new Error(
        `query returned ${row.length} column(s); ${this.settings.rate ? 'with rate it needs two: value, counter' : 'it needs one'}`,
      );
    }
    const value = demandValue(row[0], `column "${columns[0]}"`);
    if (!this.settings.rate) return { value };
    return { value, counter: demandValue(row[1], `column "${columns[1]}"`) };
  }

  async close(): Promise<void> {
    this.guard.close();
    await (await this.pool).end();
  }
}

/**
 * A query over the extended protocol (one statement only), rows as arrays. @types/pg does not know
 * `queryMode` yet; pg reads it (lib/query.js).
 */
function extendedArrayQuery(text: string): QueryArrayConfig {
  const config: QueryArrayConfig & { queryMode: 'extended' } = {
    text,
    rowMode: 'array',
    queryMode: 'extended',
  };
  return config;
}

/** pg's errors carry a SQLSTATE code; the common ones in words. The code stays on the error. */
function explainPgError(error: unknown): Error {
  const e = error as Error & { code?: string };
  if (!e?.code) return e instanceof Error ? e : new Error(String(error));
  let message = `query failed: ${e.message} (SQLSTATE ${e.code})`;
  if (e.code === '57014') message = `query cancelled by statement_timeout (${e.message})`;
  if (e.code === '25006') message = `query tried to write; sources run read-only (${e.message})`;
  if (e.code === '42601' && /multiple commands/.test(e.message)) {
    message = `query must be one statement (${e.message})`;
  }
  return Object.assign(new Error(message), { code: e.code });
}

/** Anything but an SQL error from a healthy session: no SQLSTATE, or a connection-class one. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return /^(08|57P)/.test(code);
}
