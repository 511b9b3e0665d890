import { z } from 'zod';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { explainRedisError, pairs, RedisConnection } from './redis-connection.js';
import { nameSetting, rateWindowSetting, timeoutSetting, urlSetting } from './settings.js';

export const redisStreamSchema = z.strictObject({
  url: urlSetting(['redis', 'rediss']),
  stream: nameSetting(),
  group: nameSetting(),
  /** Arrivals per second from the stream's entries-added counter. */
  rate: z.boolean().default(false),
  rateWindow: rateWindowSetting(),
  timeout: timeoutSetting(),
});
export type RedisStreamSettings = z.output<typeof redisStreamSchema>;

/**
 * The work a consumer group has not finished: its lag (entries not yet delivered to any consumer) plus its
 * pending entries (delivered, not yet acknowledged). Needs Redis 7 (XINFO GROUPS reports lag since 7.0).
 */
export class RedisStreamSource implements Source {
  private readonly settings: RedisStreamSettings;
  private readonly redis: RedisConnection;
  private readonly guard: GuardedRead;

  constructor(settings: RedisStreamSettings, ctx: SourceContext) {
    this.settings = settings;
    const redactor = Redactor.forUrls([settings.url]);
    this.redis = new RedisConnection(settings.url, settings.timeout, ctx.logger, redactor);
    this.guard = new GuardedRead({
      label: `redis-stream ${displayUrl(settings.url)} stream "${settings.stream}" group "${settings.group}"`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor,
      ...(settings.rate ? { rateWindowMs: settings.rateWindow } : {}),
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const { stream, group, rate } = this.settings;
    const explain = (error: unknown) => Promise.reject(explainRedisError(error, `stream "${stream}"`));
    return this.guard.run(signal, (bounded) =>
      this.redis.run(bounded, async (client) => {
        const [groups, info] = await Promise.all([
          client.xinfo('GROUPS', stream).catch(explain),
          rate ? client.xinfo('STREAM', stream).catch(explain) : undefined,
        ]);
        const all = Array.isArray(groups) ? groups.map(pairs) : [];
        const found = all.find((g) => String(g.get('name')) === group);
        if (!found) {
          const names = all.map((g) => String(g.get('name')));
          throw new Error(
            `consumer group "${group}" not found (groups: ${names.length ? names.join(', ') : 'none'})`,
          );
        }
        if (!found.has('lag'))
          throw new Error('this Redis reports no consumer-group lag; Redis 7 or later is needed');
        const lag = found.get('lag');
        if (lag === null) {
          // Redis cannot count the lag after entries were deleted from the middle of the stream.
          throw new Error("Redis cannot tell the group's lag (entries were deleted or trimmed past it)");
        }
        const value = demandValue(lag, 'lag') + demandValue(found.get('pending'), 'pending');
        if (!rate) return { value };
        return { value, counter: demandValue(pairs(info).get('entries-added'), 'entries-added') };
      }),
    );
  }

  async close(): Promise<void> {
    this.guard.close();
    await this.redis.close();
  }
}
