import { z } from 'zod';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { getJson, type HttpTarget, httpTarget } from './http-json.js';
import { followRedirectsSetting, headersSetting, timeoutSetting, urlSetting } from './settings.js';

const query = () => z.string({ error: 'expected a PromQL query' }).trim().min(1, 'must not be empty');

export const prometheusSchema = z.strictObject({
  /** The server's base URL, e.g. http://127.0.0.1:9090 (basic auth as http://user:pass@host). */
  url: urlSetting(['http', 'https']),
  /** An instant query that gives one number: a scalar, or a vector of exactly one series. */
  query: query(),
  /** An instant query that gives arrivals per second, e.g. sum(rate(jobs_enqueued_total[1m])). */
  rateQuery: query().optional(),
  headers: headersSetting(),
  followRedirects: followRedirectsSetting(),
  timeout: timeoutSetting(),
});
export type PrometheusSettings = z.output<typeof prometheusSchema>;

/**
 * A number from an instant PromQL query (GET /api/v1/query). An empty result means "no data" and is an
 * error, not 0: a missing series usually means a broken scrape, and reading it as zero demand would scale
 * the service down exactly when nobody can see it.
 */
export class PrometheusSource implements Source {
  private readonly settings: PrometheusSettings;
  private readonly guard: GuardedRead;

  constructor(settings: PrometheusSettings, ctx: SourceContext) {
    this.settings = settings;
    const secrets = Object.entries(settings.headers ?? {}).map(([, v]) =>
      v.replace(/^(Bearer|Basic)\s+/i, ''),
    );
    this.guard = new GuardedRead({
      label: `prometheus ${displayUrl(settings.url)}`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor: Redactor.forUrls([settings.url], secrets),
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const { query, rateQuery } = this.settings;
    return this.guard.run(signal, async (bounded) => {
      const [value, rate] = await Promise.all([
        this.instant(query, bounded),
        rateQuery === undefined ? undefined : this.instant(rateQuery, bounded),
      ]);
      return rate === undefined ? { value } : { value, rate };
    });
  }

  private async instant(promql: string, signal: AbortSignal): Promise<number> {
    const target = this.target(promql);
    const body = (await getJson(target, signal, (status, json) => {
      const error = (json as { error?: unknown; errorType?: unknown } | undefined)?.error;
      if (typeof error === 'string') {
        const type = (json as { errorType?: unknown }).errorType;
        return type === 'bad_data'
          ? `bad query ${JSON.stringify(promql)}: ${error}`
          : `HTTP ${status}: ${error}`;
      }
      return undefined;
    })) as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | undefined;
    if (body?.status !== 'success' || !body.data)
      throw new Error('unexpected answer: not a Prometheus query response');
    const { resultType, result } = body.data;
    const where = `query ${JSON.stringify(promql)}`;
    if (resultType === 'scalar') return demandValue((result as unknown[])?.[1], `${where} result`);
    if (resultType !== 'vector') {
      throw new Error(
        `${where} gives a ${String(resultType)}; it must give a scalar or one series (an instant vector)`,
      );
    }
    const series = Array.isArray(result) ? result : [];
    if (series.length === 0) throw new Error(`${where} returned no data (empty result)`);
    if (series.length > 1) {
      throw new Error(
        `${where} returned ${series.length} series; it must return one (aggregate it, e.g. sum(...))`,
      );
    }
    const sample = (series[0] as { value?: unknown[] }).value?.[1];
    return demandValue(sample, `${where} result`);
  }

  private target(promql: string): HttpTarget {
    const base = new URL(this.settings.url);
    base.pathname = `${base.pathname.replace(/\/$/, '')}/api/v1/query`;
    base.searchParams.set('query', promql);
    // The server stops evaluating when the client has given up anyway.
    base.searchParams.set('timeout', `${Math.max(1, Math.floor(this.settings.timeout / 1000))}s`);
    return httpTarget(base.toString(), this.settings.headers, this.settings.followRedirects);
  }

  async close(): Promise<void> {
    this.guard.close();
  }
}
