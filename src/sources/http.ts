import { z } from 'zod';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { getJson, type HttpTarget, httpTarget } from './http-json.js';
import { atPath, isValidPath } from './json-path.js';
import {
  followRedirectsSetting,
  headersSetting,
  rateWindowSetting,
  timeoutSetting,
  urlSetting,
} from './settings.js';

const path = () =>
  z
    .string({ error: 'expected a dotted path like load.value' })
    .refine(isValidPath, 'must be a dotted path like load.value, with no empty part');

export const httpSchema = z.strictObject({
  url: urlSetting(['http', 'https']),
  /** Where the number is in the JSON answer, e.g. `load.value` or `queues.0.depth`. */
  path: path(),
  /** Where a counter of arrivals is in the same answer; rate = its growth per second. */
  counterPath: path().optional(),
  headers: headersSetting(),
  followRedirects: followRedirectsSetting(),
  rateWindow: rateWindowSetting(),
  timeout: timeoutSetting(),
});
export type HttpSettings = z.output<typeof httpSchema>;

/** A number at a JSON path from any URL (GET). Numbers and decimal strings count; anything else is an error. */
export class HttpSource implements Source {
  private readonly settings: HttpSettings;
  private readonly guard: GuardedRead;
  private readonly target: HttpTarget;

  constructor(settings: HttpSettings, ctx: SourceContext) {
    this.settings = settings;
    this.target = httpTarget(settings.url, settings.headers, settings.followRedirects);
    const secrets = Object.values(settings.headers ?? {}).map((v) => v.replace(/^(Bearer|Basic)\s+/i, ''));
    this.guard = new GuardedRead({
      label: `http ${displayUrl(settings.url)}`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor: Redactor.forUrls([settings.url], secrets),
      ...(settings.counterPath === undefined ? {} : { rateWindowMs: settings.rateWindow }),
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const { path, counterPath } = this.settings;
    return this.guard.run(signal, async (bounded) => {
      const body = await getJson(this.target, bounded);
      const value = demandValue(atPath(body, path), `value at "${path}"`);
      if (counterPath === undefined) return { value };
      return { value, counter: demandValue(atPath(body, counterPath), `counter at "${counterPath}"`) };
    });
  }

  async close(): Promise<void> {
    this.guard.close();
  }
}
