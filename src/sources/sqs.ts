import type { QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { displayUrl, Redactor, safeUrl } from '../infra/redact.js';
import { demandValue } from './demand-value.js';
import { GuardedRead } from './guarded-read.js';
import { timeoutSetting, urlSetting } from './settings.js';

export const sqsSchema = z
  .strictObject({
    /** https://sqs.REGION.amazonaws.com/ACCOUNT/NAME */
    queueUrl: urlSetting(['https', 'http']),
    /** Default: from queueUrl, else AWS_REGION / AWS_DEFAULT_REGION. */
    region: z.string().min(1).optional(),
    /** Another endpoint (a VPC endpoint, or a local emulator). */
    endpoint: urlSetting(['https', 'http']).optional(),
    /** Without these the AWS SDK's default chain applies (AWS_ACCESS_KEY_ID, profiles, instance roles). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /** Count messages received but not yet deleted (ApproximateNumberOfMessagesNotVisible), as KEDA does. */
    inFlight: z.boolean().default(true),
    /** Count messages still delayed (ApproximateNumberOfMessagesDelayed). */
    delayed: z.boolean().default(false),
    timeout: timeoutSetting(),
  })
  .superRefine((s, ctx) => {
    if ((s.accessKeyId === undefined) !== (s.secretAccessKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [s.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'],
        message: 'accessKeyId and secretAccessKey go together',
      });
    }
  });
export type SqsSettings = z.output<typeof sqsSchema>;

type GetAttributes = (
  names: string[],
  signal: AbortSignal,
) => Promise<{ Attributes?: Partial<Record<string, string>> }>;

const VISIBLE = 'ApproximateNumberOfMessages';
const IN_FLIGHT = 'ApproximateNumberOfMessagesNotVisible';
const DELAYED = 'ApproximateNumberOfMessagesDelayed';

/**
 * The approximate number of messages in an AWS SQS queue (GetQueueAttributes): visible, plus in flight
 * and delayed as configured. SQS keeps no count of messages sent, so this source gives no rate.
 * The AWS SDK is large, so it is loaded only when an sqs source is built.
 */
export class SqsSource implements Source {
  private readonly settings: SqsSettings;
  private readonly guard: GuardedRead;
  private readonly client: SQSClient;
  private readonly get: GetAttributes;

  private constructor(settings: SqsSettings, ctx: SourceContext, client: SQSClient, get: GetAttributes) {
    this.settings = settings;
    this.client = client;
    this.get = get;
    this.guard = new GuardedRead({
      label: `sqs ${displayUrl(settings.queueUrl)}`,
      timeoutMs: settings.timeout,
      clock: ctx.clock,
      redactor: Redactor.forUrls(
        [settings.queueUrl, settings.endpoint],
        [settings.secretAccessKey, settings.sessionToken],
      ),
    });
  }

  static async create(settings: SqsSettings, ctx: SourceContext): Promise<SqsSource> {
    const region =
      settings.region ??
      regionOf(settings.queueUrl) ??
      process.env.AWS_REGION ??
      process.env.AWS_DEFAULT_REGION;
    if (!region) {
      throw new ConfigError([
        'source.region: required: it cannot be read from queueUrl, and AWS_REGION is not set',
      ]);
    }
    const sdk = await import('@aws-sdk/client-sqs');
    const client = new sdk.SQSClient({
      region,
      // One attempt per read: the next tick is the retry, and a read must end within its timeout.
      maxAttempts: 1,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.accessKeyId && settings.secretAccessKey
        ? {
            credentials: {
              accessKeyId: settings.accessKeyId,
              secretAccessKey: settings.secretAccessKey,
              ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
            },
          }
        : {}),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const get: GetAttributes = (names, signal) =>
      client.send(
        new sdk.GetQueueAttributesCommand({
          QueueUrl: settings.queueUrl,
          AttributeNames: names as QueueAttributeName[],
        }),
        { abortSignal: signal },
      );
    return new SqsSource(settings, ctx, client, get);
  }

  read(signal: AbortSignal): Promise<SourceResult> {
    const { inFlight, delayed } = this.settings;
    const names = [VISIBLE, ...(inFlight ? [IN_FLIGHT] : []), ...(delayed ? [DELAYED] : [])];
    return this.guard.run(signal, async (bounded) => {
      let output: { Attributes?: Partial<Record<string, string>> };
      try {
        output = await this.get(names, bounded);
      } catch (error) {
        if (bounded.aborted && bounded.reason instanceof Error) throw bounded.reason;
        const name = (error as { name?: string }).name ?? '';
        if (/QueueDoesNotExist|NonExistentQueue/.test(name)) throw new Error('queue does not exist');
        throw new Error(name && name !== 'Error' ? `${name}: ${errorMessage(error)}` : errorMessage(error));
      }
      let value = 0;
      for (const name of names) value += demandValue(output.Attributes?.[name], name);
      return { value };
    });
  }

  async close(): Promise<void> {
    this.guard.close();
    this.client.destroy();
  }
}

/** The region in an AWS queue URL's host (sqs.REGION.amazonaws.com), if it is one. */
export function regionOf(queueUrl: string): string | undefined {
  return /^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(safeUrl(queueUrl)?.hostname ?? '')?.[1];
}
