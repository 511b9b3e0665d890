import { once } from 'node:events';
// ioredis loads when the first redis source is built: a config without one never pays for it.
import type { Redis } from 'ioredis';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { displayUrl, type Redactor } from '../infra/redact.js';
import { abortable } from './abortable.js';

/**
 * One ioredis client per source, connected from the start and kept across ticks. ioredis reconnects by
 * itself (backing off to 1 s); while it is down, commands fail at once instead of queueing, so a read
 * reports the outage rather than piling up commands that would all run when the server returns.
 */
export class RedisConnection {
  private readonly client: Promise<Redis>;
  private lastError: string | undefined;
  private everReady = false;

  constructor(url: string, timeoutMs: number, logger: Logger, redactor: Redactor) {
    const where = displayUrl(url);
    this.client = import('ioredis').then(({ Redis }) => {
      const client = new Redis(url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
        // A source only reads; never let a failed auth or a wrong db stop the reconnect loop.
        reconnectOnError: () => false,
      });
      // Without an error listener ioredis would throw the error out of the event loop.
      client.on('error', (error: unknown) => {
        const message = redactor.redact(errorMessage(error));
        if (message !== this.lastError)
          logger.log('debug', 'redis connection error', { url: where, error: message });
        this.lastError = message;
      });
      client.on('ready', () => {
        this.lastError = undefined;
        if (this.everReady) logger.log('info', 'redis reconnected', { url: where });
        this.everReady = true;
      });
      return client;
    });
  }

  /** Runs one command batch if connected; fails at once if not, with the reason. */
  async run<T>(signal: AbortSignal, commands: (client: Redis) => Promise<T>): Promise<T> {
    const client = await abortable(this.client, signal);
    if (client.status !== 'ready' && this.lastError === undefined && !this.everReady) {
      // The first connection is still being made (the first tick comes right after start): wait for it.
      await abortable(once(client, 'ready'), signal).catch(() => {});
    }
    const status = client.status;
    if (status !== 'ready') {
      throw new Error(`not connected (${this.lastError ?? status}); reconnecting`);
    }
    return abortable(commands(client), signal);
  }

  async close(): Promise<void> {
    (await this.client).disconnect(false);
  }
}

/** A flat [key, value, key, value, ...] reply (XINFO) as a Map. */
export function pairs(reply: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), reply[i + 1]);
  return out;
}

/** Redis's terse error replies in words that name the object. */
export function explainRedisError(error: unknown, object: string): Error {
  const message = errorMessage(error);
  if (/^ERR no such key/.test(message)) return new Error(`${object} does not exist`);
  if (/^WRONGTYPE/.test(message)) return new Error(`${object} holds another type of value (${message})`);
  return error instanceof Error ? error : new Error(message);
}
