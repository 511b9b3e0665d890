// A lease in PostgreSQL: one row per lease in one table, its expiry judged by the server's clock
// (clock_timestamp()). Acquire is one INSERT … ON CONFLICT DO UPDATE that takes the row only when it is free,
// expired or already ours; renew is compare-and-extend, release compare-and-delete, so only the holder ever
// extends or removes it. pg loads only when this store is configured.

import type { Pool, PoolClient } from 'pg';
import type { Lease } from '../controller/leadership.js';
import { abortable } from '../core/abortable.js';
import { errorMessage } from '../core/errors.js';
import { newHolderId } from './redis-lease.js';

export interface PostgresLeaseOptions {
  /** postgres:// URL of the database every instance reaches. */
  readonly url: string;
  readonly key: string;
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
  /** The table, created when missing; `microscaler_leases` by default. */
  readonly table?: string;
}

export const DEFAULT_LEASE_TABLE = 'microscaler_leases';

export class PostgresLease implements Lease {
  readonly id: string;
  private readonly opts: PostgresLeaseOptions;
  private readonly table: string;
  private readonly bound: number;
  private readonly pool: Promise<Pool>;
  /** Set once the table is known to exist; until then every call first makes sure of it. */
  private tableReady = false;

  constructor(options: PostgresLeaseOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    const table = options.table ?? DEFAULT_LEASE_TABLE;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new RangeError(`bad lease table name "${table}"`);
    this.table = `"${table}"`;
    // Every call, the connection it may have to open included, is bounded by ttl/3 (the election's period):
    // a renewal answered later than that could be answered after the lease expired.
    this.bound = Math.max(50, Math.floor(options.ttlMs / 3));
    this.pool = import('pg').then(({ default: pg }) => {
      const pool = new pg.Pool({
        connectionString: options.url,
        // One connection; pg replaces it when it breaks (the server ended it, the network died).
        max: 1,
        connectionTimeoutMillis: this.bound,
        // The server cancels a statement that runs longer (one stuck behind a row lock), so a renewal
        // cannot take effect after we gave up on it; query_timeout ends the wait on our side.
        statement_timeout: this.bound,
        query_timeout: this.bound,
        application_name: `microscaler-lease ${this.id}`.slice(0, 63),
        allowExitOnIdle: true,
      });
      // An idle connection that breaks reports here; the pool drops it and the next call opens a new one.
      pool.on('error', () => {});
      return pool;
    });
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const t = this.table;
    // ON CONFLICT DO UPDATE locks the row and re-checks the WHERE against its newest version, so two
    // instances racing for a free lease cannot both win.
    const rows = await this.run(
      signal,
      `INSERT INTO ${t} AS l (key, holder, expires_at)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp()
       RETURNING 1`,
      [this.opts.key, this.id, this.opts.ttlMs],
    );
    return rows.length === 1;
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    const rows = await this.run(
      signal,
      `UPDATE ${this.table} SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE key = $1 AND holder = $2 AND expires_at > clock_timestamp()
       RETURNING 1`,
      [this.opts.key, this.id, this.opts.ttlMs],
    );
    return rows.length === 1;
  }

  async release(): Promise<void> {
    await this.run(AbortSignal.timeout(1000), `DELETE FROM ${this.table} WHERE key = $1 AND holder = $2`, [
      this.opts.key,
      this.id,
    ]);
  }

  async holder(signal: AbortSignal): Promise<string | null> {
    const rows = await this.run(
      signal,
      `SELECT holder FROM ${this.table} WHERE key = $1 AND expires_at > clock_timestamp()`,
      [this.opts.key],
    );
    const holder = (rows[0] as { holder?: unknown } | undefined)?.holder;
    return typeof holder === 'string' ? holder : null;
  }

  async close(): Promise<void> {
    await (await this.pool).end();
  }

  /** One statement on the lease's connection, rejected when the signal aborts first. */
  private run(signal: AbortSignal, text: string, values: unknown[]): Promise<unknown[]> {
    return abortable(this.query(text, values), signal, () => new Error('postgres lease: no answer in time'));
  }

  // Not cut short by the signal: the connection stays busy until the server answers or the timeouts end
  // it, and a connection that failed is destroyed rather than reused, so a late answer is never read.
  private async query(text: string, values: unknown[]): Promise<unknown[]> {
    const client: PoolClient = await (await this.pool).connect();
    let broken: Error | undefined;
    // A connection that ends while checked out emits 'error' on the client (the pool listens to idle ones only).
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      if (!this.tableReady) {
        await createTable(client, this.table);
        this.tableReady = true;
      }
      return (await client.query(text, values)).rows;
    } catch (error) {
      broken ??= error instanceof Error ? error : new Error(errorMessage(error));
      throw new Error(`postgres lease: ${errorMessage(error)}`);
    } finally {
      client.removeListener('error', onError);
      // Any failure (a timeout above all) retires the connection: its answer may still be on the way.
      client.release(broken);
    }
  }
}

async function createTable(client: PoolClient, table: string): Promise<void> {
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL)`,
    );
  } catch (error) {
    // Two instances creating the table at once: one of them loses on the catalog's unique index.
    const code = (error as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }
}
