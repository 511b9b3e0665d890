// nats loads on first connect: a config without nats sources never pays for it.
import type { JetStreamManager, NatsConnection } from 'nats';
import { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor, safeUrl } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { Reconnecting } from './reconnecting.js';
import { nameSetting, rateWindowSetting, timeoutSetting, urlSetting } from './settings.js';

export const natsJetstreamSchema = z.strictObject({
  /** nats://host:4222; credentials as nats://user:password@host or nats://token@host. */
  url: urlSetting(['nats', 'tls']),
  stream: nameSetting(),
  consumer: nameSetting(),
  /** Arrivals per second from the stream's last sequence number (every subject of the stream counts). */
  rate: z.boolean().default(false),
  rateWindow: rateWindowSetting(),
  timeout: timeoutSetting(),
});
export type NatsJetstreamSettings = z.output<typeof natsJetstreamSchema>;

interface Nats {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
}

// JetStream API error codes (nats-server's errors.json).
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

/**
 * A JetStream consumer's unfinished messages: pending (not yet delivered) plus ack-pending (delivered,
 * not acknowledged), from the consumer info the server keeps.
 */
export class NatsJetstreamSource implements Source {
  private readonly settings: NatsJetstreamSettings;
  private readonly guard: GuardedRead;
  private readonly conn: Reconnecting<Nats>;

  constructor(settings: NatsJetstreamSettings, ctx: SourceContext) {
    this.settings = settings;
    const redactor = Redactor.forUrls([settings.url]);
    const where = displayUrl(settings.url);
    this.guard = new GuardedRead({
      label: `nats-jetstream ${where} stream "${settings.stream}" consumer "${settings.consumer}"`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor,
      ...(settings.rate ? { rateWindowMs: settings.rateWindow } : {}),
    });
    this.conn = new Reconnecting<Nats>({
      clock: ctx.clock,
      timeoutMs: settings.timeout,
      open: async () => {
        const { connect } = await import('nats');
        const nc = await connect({
          ...connectOptions(settings.url),
          timeout: settings.timeout,
          // Keep trying, and soon: a scaler should see its queue again within a second of the server.
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        });
        // The client reconnects by itself after a first success; only a closed connection needs a new one.
        const nats: Nats = {
          nc,
          jsm: await nc.jetstreamManager({ timeout: settings.timeout, checkAPI: false }),
        };
        void nc.closed().then((error) => {
          if (error)
            ctx.logger.log('warn', 'nats connection closed', {
              url: where,
              error: redactor.redact(errorMessage(error)),
            });
          this.conn.drop(nats);
        });
        return nats;
      },
      dispose: (nats) => nats.nc.close(),
    });
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const { stream, consumer, rate } = this.settings;
    return this.guard.run(signal, async (bounded) => {
      const { jsm } = await this.conn.get(bounded);
      try {
        const [info, streamInfo] = await Promise.all([
          jsm.consumers.info(stream, consumer),
          rate ? jsm.streams.info(stream) : undefined,
        ]);
        const value =
          demandValue(info.num_pending, 'num_pending') + demandValue(info.num_ack_pending, 'num_ack_pending');
        if (!streamInfo) return { value };
        return { value, counter: demandValue(streamInfo.state.last_seq, 'last_seq') };
      } catch (error) {
        const code = (error as { api_error?: { err_code?: number } }).api_error?.err_code;
        if (code === STREAM_NOT_FOUND) throw new Error(`stream "${stream}" not found`);
        if (code === CONSUMER_NOT_FOUND)
          throw new Error(`consumer "${consumer}" not found on stream "${stream}"`);
        if (/TIMEOUT/i.test(errorMessage(error)))
          throw new Error(`no answer from JetStream (${errorMessage(error)})`);
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.guard.close();
    await this.conn.close();
  }
}

/** nats.js takes credentials as options, not in the server URL. */
function connectOptions(url: string): { servers: string; user?: string; pass?: string; token?: string } {
  const parsed = safeUrl(url) as URL;
  const servers = `${parsed.protocol}//${parsed.host}`;
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  if (user && pass) return { servers, user, pass };
  if (user) return { servers, token: user };
  return { servers };
}
