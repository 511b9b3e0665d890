// A lease in Redis: SET key id NX PX ttl to take it; Lua compare-and-pexpire to renew, compare-and-del to
// release, so only the holder ever extends or removes it.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Lease } from '../controller/leadership.js';
import { abortable } from '../core/abortable.js';
import { errorMessage } from '../core/errors.js';

/** Takes the lease if free; also true (and extends it) when we hold it already. */
const ACQUIRE = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RedisLeaseOptions {
  readonly url: string;
  readonly key: string;
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
}

export function newHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export class RedisLease implements Lease {
  readonly id: string;
  private readonly opts: RedisLeaseOptions;
  private readonly client: Promise<Redis>;
  private everReady = false;
  private lastError: string | undefined;

  constructor(options: RedisLeaseOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    const timeout = Math.max(50, Math.floor(options.ttlMs / 3));
    // ioredis loads only when HA is configured.
    this.client = import('ioredis').then(({ Redis }) => {
      const client = new Redis(options.url, {
        // A command never waits for a reconnect: a late renewal must not count.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: timeout,
        commandTimeout: timeout,
        retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
      });
      client.on('error', (error: unknown) => {
        this.lastError = errorMessage(error);
      });
      client.on('ready', () => {
        this.everReady = true;
        this.lastError = undefined;
      });
      return client;
    });
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    return (await this.eval(ACQUIRE, signal, String(this.opts.ttlMs))) === 1;
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    return (await this.eval(RENEW, signal, String(this.opts.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.eval(RELEASE, AbortSignal.timeout(1000));
  }

  async holder(signal: AbortSignal): Promise<string | null> {
    const client = await this.ready(signal);
    return client.get(this.opts.key);
  }

  async close(): Promise<void> {
    const client = await this.client;
    client.disconnect();
  }

  private async eval(script: string, signal: AbortSignal, ...args: string[]): Promise<unknown> {
    const client = await this.ready(signal);
    return abortable(client.eval(script, 1, this.opts.key, this.id, ...args), signal);
  }

  private async ready(signal: AbortSignal): Promise<Redis> {
    const client = await this.client;
    if (client.status !== 'ready' && !this.everReady && this.lastError === undefined) {
      // The first connection is still being made: wait for it (bounded by the signal).
      await abortable(once(client, 'ready'), signal).catch(() => {});
    }
    if (client.status !== 'ready') {
      throw new Error(`redis not connected (${this.lastError ?? client.status})`);
    }
    return client;
  }
}
