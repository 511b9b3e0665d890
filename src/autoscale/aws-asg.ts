// The aws-asg autoscale target (issue 15, `capacity.autoscale: { type: aws-asg, group }`): each request for
// machines moves an EC2 Auto Scaling group's desired capacity by its nodes, within the group's MinSize and
// MaxSize. The AWS SDK is loaded (dynamic import) only when this target is built, and finds credentials
// through its usual chain (environment, profile, SSO, container or instance role).
import { z } from 'zod';
import { errorMessage, TerminalError, TransientError } from '../core/errors.js';
import type { AutoscaleTarget, Logger } from '../core/ports.js';
import type { CapacityAsk } from '../core/types.js';

export const awsAsgSettingsSchema = z.strictObject({
  type: z.literal('aws-asg'),
  /** The Auto Scaling group's name. */
  group: z.string().min(1).max(255),
  /** AWS_REGION (or the profile's region) otherwise. */
  region: z.string().min(1).optional(),
  /** Another Auto Scaling endpoint (e.g. LocalStack); AWS's own otherwise. */
  endpoint: z.url().optional(),
});
export type AwsAsgSettings = z.output<typeof awsAsgSettingsSchema>;

const WHO = 'autoscale aws-asg';
const PERMISSIONS = 'autoscaling:DescribeAutoScalingGroups and autoscaling:SetDesiredCapacity';

/** A group's sizes, as DescribeAutoScalingGroups gives them. */
export interface GroupSizes {
  readonly desired: number;
  readonly min: number;
  readonly max: number;
}

/** The two calls this target makes: the SDK in production, the same SDK against a fake in tests. */
export interface AsgCalls {
  /** undefined when no such group exists. */
  describe(group: string, signal: AbortSignal): Promise<GroupSizes | undefined>;
  setDesired(group: string, desired: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface AwsAsgDeps {
  /** Extra SDK client settings (tests give credentials here). */
  readonly clientConfig?: Record<string, unknown>;
  /** Per call; 10 s by default. */
  readonly timeoutMs?: number;
}

/** The desired capacity a request asks for: current ± nodes, within [min, max]; clamped says it was cut. */
export function nextDesired(
  sizes: GroupSizes,
  direction: CapacityAsk['direction'],
  nodes: number,
): { desired: number; clamped: boolean } {
  const wanted = sizes.desired + (direction === 'out' ? nodes : -nodes);
  const desired = Math.min(sizes.max, Math.max(sizes.min, wanted));
  return { desired, clamped: desired !== wanted };
}

export class AwsAsgTarget implements AutoscaleTarget {
  static async create(settings: AwsAsgSettings, logger: Logger, deps: AwsAsgDeps = {}) {
    const calls = await sdkCalls(settings, deps.clientConfig ?? {}, deps.timeoutMs ?? 10_000);
    return new AwsAsgTarget(settings, logger, calls);
  }

  constructor(
    private readonly settings: AwsAsgSettings,
    private readonly logger: Logger,
    private readonly calls: AsgCalls,
  ) {}

  async ask(_instance: string, request: CapacityAsk, signal: AbortSignal): Promise<void> {
    const group = this.settings.group;
    if (request.nodes === undefined) {
      throw new TerminalError(
        `${WHO}: the request (${request.reason}) does not say how many nodes, and an Auto Scaling group counts instances: give capacity a node size (perNode, or from: scheduler) so requests come in nodes`,
      );
    }
    const sizes = await this.guard(this.calls.describe(group, signal));
    if (!sizes) {
      throw new TerminalError(
        `${WHO}: Auto Scaling group ${group} not found in ${this.settings.region ?? 'the configured region'}; check capacity.autoscale.group and region`,
      );
    }
    const { desired, clamped } = nextDesired(sizes, request.direction, request.nodes);
    const sign = request.direction === 'out' ? '+' : '-';
    const limits = `MinSize ${sizes.min}, MaxSize ${sizes.max}`;
    if (desired === sizes.desired) {
      this.logger.log(
        'warn',
        `${WHO}: group ${group} stays at ${desired}: ${sign}${request.nodes} is outside ${limits}`,
        { reason: request.reason },
      );
      return;
    }
    await this.guard(this.calls.setDesired(group, desired, signal));
    const cut = clamped ? ` (${sign}${request.nodes} clamped to ${limits})` : '';
    this.logger.log('info', `${WHO}: group ${group} desired capacity ${sizes.desired} → ${desired}${cut}`, {
      reason: request.reason,
    });
  }

  async close(): Promise<void> {
    this.calls.close();
  }

  /** Turns SDK errors into messages that say what to do; throttling and outages are transient. */
  private async guard<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      throw asgError(error, this.settings);
    }
  }
}

/** What an SDK error means here: TerminalError when asking again cannot help, TransientError when it may. */
export function asgError(error: unknown, settings: AwsAsgSettings): Error {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = errorMessage(error);
  const where = `group ${settings.group}`;
  if (
    /AccessDenied|NotAuthorized|UnrecognizedClient|InvalidClientTokenId|SignatureDoesNotMatch|IncompleteSignature|ExpiredToken|OptInRequired|CredentialsProvider/.test(
      name,
    ) ||
    status === 401 ||
    status === 403
  ) {
    return new TerminalError(
      `${WHO}: AWS refused ${where} (${name}: ${message}); check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, role) and that they allow ${PERMISSIONS}`,
    );
  }
  if (name === 'ValidationError' && /not found/i.test(message)) {
    return new TerminalError(
      `${WHO}: Auto Scaling group ${settings.group} not found (${message}); check capacity.autoscale.group and region`,
    );
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new TransientError(`${WHO}: ${where}: Auto Scaling did not answer in time`);
  }
  if (
    /Throttl|RequestLimitExceeded|ResourceContention|ScalingActivityInProgress|ServiceUnavailable|InternalFailure/.test(
      name,
    ) ||
    (status ?? 0) >= 500
  ) {
    return new TransientError(`${WHO}: ${where}: ${name}: ${message}`);
  }
  if (status === 404) {
    return new TerminalError(
      `${WHO}: ${where}: HTTP 404 from ${settings.endpoint ?? 'Auto Scaling'} (${message}); check capacity.autoscale.endpoint and region`,
    );
  }
  if (!status) return new TransientError(`${WHO}: ${where}: ${name ? `${name}: ` : ''}${message}`);
  return new Error(`${WHO}: ${where}: ${name}: ${message}`);
}

async function sdkCalls(
  settings: AwsAsgSettings,
  extra: Record<string, unknown>,
  timeoutMs: number,
): Promise<AsgCalls> {
  const sdk = await import('@aws-sdk/client-auto-scaling');
  const client = new sdk.AutoScalingClient({
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    // One retry at most: the pressure watch's next request is the retry, and a tick must not hang.
    maxAttempts: 2,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...extra,
  });
  const bounded = (signal: AbortSignal) => AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  return {
    async describe(group, signal) {
      const out = await client.send(
        new sdk.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group], IncludeInstances: false }),
        { abortSignal: bounded(signal) },
      );
      const g = (out.AutoScalingGroups ?? []).find((x) => x.AutoScalingGroupName === group);
      if (!g) return undefined;
      return { desired: g.DesiredCapacity ?? 0, min: g.MinSize ?? 0, max: g.MaxSize ?? 0 };
    },
    async setDesired(group, desired, signal) {
      await client.send(
        new sdk.SetDesiredCapacityCommand({
          AutoScalingGroupName: group,
          DesiredCapacity: desired,
          // microscaler's own cooldown decides when to ask; the group's would silently refuse.
          HonorCooldown: false,
        }),
        { abortSignal: bounded(signal) },
      );
    },
    close: () => client.destroy(),
  };
}
