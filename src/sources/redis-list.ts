import { z } from 'zod';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { explainRedisError, RedisConnection } from './redis-connection.js';
import { nameSetting, rateWindowSetting, timeoutSetting, urlSetting } from './settings.js';

export const redisListSchema = z.strictObject({
  url: urlSetting(['redis', 'rediss']),
  key: nameSetting(),
  /**
   * A counter that producers INCR for every job they push. A list's length alone cannot give arrivals
   * (it grows by arrivals minus what consumers take), so the rate comes from this counter when it is set.
   */
  counterKey: nameSetting().optional(),
  rateWindow: rateWindowSetting(),
  timeout: timeoutSetting(),
});
export type RedisListSettings = z.output<typeof redisListSchema>;

/** The length of a Redis list (LLEN): the jobs waiting in a queue. A missing key is an empty list. */
export class RedisListSource implements Source {
  private readonly settings: RedisListSettings;
  private readonly redis: RedisConnection;
  private readonly guard: GuardedRead;

  constructor(settings: RedisListSettings, ctx: SourceContext) {
    this.settings = settings;
    const redactor = Redactor.forUrls([settings.url]);
    this.redis = new RedisConnection(settings.url, settings.timeout, ctx.logger, redactor);
    this.guard = new GuardedRead({
      label: `redis-list ${displayUrl(settings.url)} key "${settings.key}"`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor,
      ...(settings.counterKey === undefined ? {} : { rateWindowMs: settings.rateWindow }),
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const { key, counterKey } = this.settings;
    return this.guard.run(signal, (bounded) =>
      this.redis.run(bounded, async (client) => {
        const [length, counter] = await Promise.all([
          client
            .llen(key)
            .catch((error: unknown) => Promise.reject(explainRedisError(error, `key "${key}"`))),
          counterKey === undefined ? undefined : client.get(counterKey),
        ]);
        const value = demandValue(length, 'LLEN');
        if (counterKey === undefined) return { value };
        // INCR starts from a missing key, so a missing counter means nothing has arrived yet.
        return { value, counter: demandValue(counter ?? 0, `counter key "${counterKey}"`) };
      }),
    );
  }

  async close(): Promise<void> {
    this.guard.close();
    await this.redis.close();
  }
}
