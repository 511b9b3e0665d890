// The webhook autoscale target (issue 15, `capacity.autoscale: { type: webhook, url }`): each request for
// machines is POSTed as JSON (docs/capacity.md shows the body), with a token header when one is set, and
// retried with backoff while the answer says asking again may help (no answer, 5xx, 429).
import { z } from 'zod';
import { TransientError } from '../core/errors.js';
import type { AutoscaleTarget } from '../core/ports.js';
import type { CapacityAsk } from '../core/types.js';
import { answerError, answerMessage, basicAuth, requestJson, splitUserinfo } from '../infra/http-json.js';

export const webhookSettingsSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  /** Sent as `Authorization: Bearer <token>`, or in `header` when that is set. */
  token: z.string().min(1).optional(),
  header: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, { error: 'must be an HTTP header name' })
    .optional(),
  /** Attempts per request (the first included). */
  attempts: z.int().min(1).max(10).default(4),
});
export type WebhookSettings = z.output<typeof webhookSettingsSchema>;

const WHO = 'autoscale webhook';
const TIMEOUT_MS = 10_000;
const FIRST_BACKOFF_MS = 500;

/** The body a webhook receives. */
export interface WebhookBody {
  readonly instance: string;
  readonly direction: 'out' | 'in';
  readonly want: {
    readonly nodes?: number;
    readonly replicas: number;
    readonly cpu: number;
    readonly memory: number;
  };
  readonly reason: string;
  /** ISO 8601. */
  readonly time: string;
}

export interface WebhookDeps {
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

export class WebhookTarget implements AutoscaleTarget {
  constructor(
    private readonly settings: WebhookSettings,
    private readonly deps: WebhookDeps = {},
  ) {}

  async ask(instance: string, request: CapacityAsk, signal: AbortSignal): Promise<void> {
    const { url, user } = splitUserinfo(this.settings.url);
    const headers: Record<string, string> = {};
    if (user) headers.authorization = basicAuth(user.name, user.password);
    if (this.settings.token) {
      headers[this.settings.header ?? 'authorization'] = this.settings.header
        ? this.settings.token
        : `Bearer ${this.settings.token}`;
    }
    const body: WebhookBody = {
      instance,
      direction: request.direction,
      want: { ...(request.nodes !== undefined ? { nodes: request.nodes } : {}), ...request.want },
      reason: request.reason,
      time: new Date(this.deps.now?.() ?? Date.now()).toISOString(),
    };
    const sleep = this.deps.sleep ?? delay;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await requestJson({
          method: 'POST',
          url,
          headers,
          body,
          timeoutMs: TIMEOUT_MS,
          signal,
          who: WHO,
        });
        if (answer.status >= 200 && answer.status < 300) return;
        throw answerError(
          answer.status,
          `${WHO}: POST ${url.origin}${url.pathname}: HTTP ${answer.status}: ${answerMessage(answer)}`,
        );
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= this.settings.attempts || signal.aborted)
          throw error;
        await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 1), signal);
      }
    }
  }

  async close(): Promise<void> {}
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
