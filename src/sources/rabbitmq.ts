// amqplib loads on first connect: a config without rabbitmq sources never pays for it.
import type { Channel, ChannelModel } from 'amqplib';
import { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor, safeUrl } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead, type Sample } from './guarded-read.js';
import { getJson, type HttpTarget, httpTarget } from './http-json.js';
import { Reconnecting } from './reconnecting.js';
import { nameSetting, rateWindowSetting, timeoutSetting, urlSetting } from './settings.js';

export const rabbitmqSchema = z
  .strictObject({
    url: urlSetting(['amqp', 'amqps']),
    queue: nameSetting(),
    /**
     * The management API's base URL (e.g. http://127.0.0.1:15672). When set, the value is ready plus
     * unacknowledged messages, read from the API instead of AMQP. Without credentials of its own it uses
     * the AMQP URL's user and password.
     */
    management: urlSetting(['http', 'https']).optional(),
    /** Arrivals per second from the queue's publish counter; needs `management`. */
    rate: z.boolean().default(false),
    rateWindow: rateWindowSetting(),
    timeout: timeoutSetting(),
  })
  .superRefine((s, ctx) => {
    if (s.rate && !s.management) {
      ctx.addIssue({
        code: 'custom',
        path: ['rate'],
        message: 'needs `management` (AMQP has no count of messages published)',
      });
    }
  });
export type RabbitmqSettings = z.output<typeof rabbitmqSchema>;

interface Amqp {
  readonly model: ChannelModel;
  channel: Channel | undefined;
}

/**
 * Messages waiting in a RabbitMQ queue. Over AMQP: the queue's ready messages (a passive queue.declare,
 * the cheapest exact count RabbitMQ gives). With `management`: ready + unacknowledged from the HTTP API,
 * which RabbitMQ refreshes every 5 s by default (collect_statistics_interval).
 */
export class RabbitmqSource implements Source {
  private readonly settings: RabbitmqSettings;
  private readonly guard: GuardedRead;
  private readonly amqp: Reconnecting<Amqp> | undefined;
  private readonly api: HttpTarget | undefined;

  constructor(settings: RabbitmqSettings, ctx: SourceContext) {
    this.settings = settings;
    const redactor = Redactor.forUrls([settings.url, settings.management]);
    this.guard = new GuardedRead({
      label: `rabbitmq ${displayUrl(settings.management ?? settings.url)} queue "${settings.queue}"`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor,
      ...(settings.rate ? { rateWindowMs: settings.rateWindow } : {}),
    });
    if (settings.management) {
      this.api = managementTarget(settings.management, settings.url, vhostOf(settings.url), settings.queue);
      return;
    }
    const where = displayUrl(settings.url);
    this.amqp = new Reconnecting<Amqp>({
      clock: ctx.clock,
      timeoutMs: settings.timeout,
      open: async () => {
        const { connect } = await import('amqplib');
        const model = await connect(settings.url, { timeout: settings.timeout });
        const amqp: Amqp = { model, channel: undefined };
        const broken = (error?: Error) => {
          if (error)
            ctx.logger.log('warn', 'rabbitmq connection lost', {
              url: where,
              error: redactor.redact(errorMessage(error)),
            });
          this.amqp?.drop(amqp);
        };
        model.on('error', broken);
        model.on('close', broken);
        return amqp;
      },
      dispose: async (amqp) => {
        amqp.model.removeAllListeners('close');
        await amqp.model.close();
      },
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    return this.guard.run(signal, (bounded) => (this.api ? this.readApi(bounded) : this.readAmqp(bounded)));
  }

  private async readAmqp(signal: AbortSignal): Promise<Sample> {
    const amqp = await (this.amqp as Reconnecting<Amqp>).get(signal);
    let channel = amqp.channel;
    if (!channel) {
      const opened = await amqp.model.createChannel();
      // The server closes the channel on an error (a missing queue is a 404 that closes it).
      opened.on('error', () => {});
      opened.on('close', () => {
        if (amqp.channel === opened) amqp.channel = undefined;
      });
      amqp.channel = opened;
      channel = opened;
    }
    try {
      const ok = await channel.checkQueue(this.settings.queue);
      return { value: demandValue(ok.messageCount, 'message count') };
    } catch (error) {
      const message = errorMessage(error);
      if (/404|NOT_FOUND/.test(message)) {
        throw new Error(`queue not found in vhost "${vhostOf(this.settings.url)}"`);
      }
      throw error;
    }
  }

  private async readApi(signal: AbortSignal): Promise<Sample> {
    const api = this.api as HttpTarget;
    const body = await getJson(api, signal, (status) => {
      if (status === 404)
        return `queue not found in vhost "${vhostOf(this.settings.url)}" (management API: 404)`;
      if (status === 401) return 'management API refused the credentials (401)';
      return undefined;
    });
    const queue = (body ?? {}) as Record<string, unknown>;
    // A queue that has never held a message may lack the counters until the first statistics round.
    if (!('messages_ready' in queue)) throw new Error('management API has no statistics for the queue yet');
    const value =
      demandValue(queue.messages_ready, 'messages_ready') +
      demandValue(queue.messages_unacknowledged, 'messages_unacknowledged');
    if (!this.settings.rate) return { value };
    const stats = (queue.message_stats ?? {}) as Record<string, unknown>;
    return { value, counter: demandValue(stats.publish ?? 0, 'message_stats.publish') };
  }

  async close(): Promise<void> {
    this.guard.close();
    await this.amqp?.close();
  }
}

/** The vhost an AMQP URL names: its path, decoded; `/` when there is none. */
export function vhostOf(url: string): string {
  const path = safeUrl(url)?.pathname ?? '';
  return path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
}

function managementTarget(management: string, amqpUrl: string, vhost: string, queue: string): HttpTarget {
  const base = safeUrl(management) as URL;
  if (!base.username && !base.password) {
    const amqp = safeUrl(amqpUrl);
    // RabbitMQ's defaults are guest/guest; the AMQP URL may rely on them too.
    base.username = amqp?.username || 'guest';
    base.password = amqp?.password || (amqp?.username ? '' : 'guest');
  }
  const path = `${base.pathname.replace(/\/$/, '')}/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`;
  base.pathname = path;
  return httpTarget(base.toString());
}
