// A fake of the documented Amazon EC2 Auto Scaling Query API (version 2011-01-01), not of a real AWS: the two
// actions the aws-asg autoscale target calls, written from the public API reference
// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/) and driven in tests by the real AWS SDK.
//   POST / with an application/x-www-form-urlencoded body `Action=<name>&Version=2011-01-01&...`
//   DescribeAutoScalingGroups AutoScalingGroupNames.member.N, IncludeInstances
//     → <DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>
//       (AutoScalingGroupName, AutoScalingGroupARN, MinSize, MaxSize, DesiredCapacity, DefaultCooldown,
//       AvailabilityZones, HealthCheckType, CreatedTime, Instances) ... (a name that matches no group is
//       left out, not an error)
//   SetDesiredCapacity AutoScalingGroupName, DesiredCapacity, HonorCooldown
//     → <SetDesiredCapacityResponse><ResponseMetadata><RequestId>; a value outside [MinSize, MaxSize] or an
//       unknown group is a ValidationError; HonorCooldown=true within the group's cooldown of its last
//       change is ScalingActivityInProgress
// Errors are XML `<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>
// <RequestId>..</RequestId></ErrorResponse>` with the documented status: ValidationError 400,
// ScalingActivityInProgress 400, ResourceContention 500, Throttling 400, InvalidClientTokenId 403 (an unknown
// access key), AccessDeniedException 400 (a key that may only describe), InvalidAction 400. The SigV4
// signature is not checked, only the access key id in it. Injectable: one-off failures, slow answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalServer, listenLocal } from './local-server.js';
import { readBody } from './nomad-api.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const XMLNS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

export interface FakeGroup {
  readonly name: string;
  minSize: number;
  maxSize: number;
  desired: number;
  cooldownSeconds: number;
  /** When desired last changed (ms). */
  changedAt: number;
}

export interface InjectedFailure {
  readonly action: string;
  readonly code: string;
  readonly message: string;
  readonly status: number;
}

export class FakeAutoScaling {
  readonly groups = new Map<string, FakeGroup>();
  /** Access key ids that may call everything; others are unknown. */
  readonly keys = new Set(['AKIDFAKE']);
  /** Access key ids that may only describe. */
  readonly readOnlyKeys = new Set<string>();
  readonly failures: InjectedFailure[] = [];
  /** Every request as its decoded form fields, in order. */
  readonly requests: Record<string, string>[] = [];
  /** Accepted SetDesiredCapacity calls. */
  readonly sets: { group: string; desired: number; honorCooldown: boolean }[] = [];
  delayMs = 0;
  private server: LocalServer | undefined;
  private serial = 0;

  addGroup(name: string, sizes: { min: number; max: number; desired: number; cooldown?: number }): FakeGroup {
    const g: FakeGroup = {
      name,
      minSize: sizes.min,
      maxSize: sizes.max,
      desired: sizes.desired,
      cooldownSeconds: sizes.cooldown ?? 300,
      changedAt: 0,
    };
    this.groups.set(name, g);
    return g;
  }

  async start(): Promise<string> {
    this.server = await listenLocal((req, res) => this.handle(req, res));
    return this.server.url;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const requestId = `fake-${++this.serial}`;
    const send = (status: number, xml: string) =>
      res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
    const error = (status: number, code: string, message: string) =>
      send(
        status,
        `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${xmlText(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    if (
      req.method !== 'POST' ||
      !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')
    ) {
      return void error(400, 'InvalidAction', 'Only form-encoded POST requests are served here.');
    }
    const form = Object.fromEntries(new URLSearchParams(text));
    this.requests.push(form);
    const key = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if (!this.keys.has(key) && !this.readOnlyKeys.has(key)) {
      return void error(
        403,
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
      );
    }
    const action = form.Action ?? '';
    if (form.Version !== '2011-01-01') {
      return void error(
        400,
        'InvalidAction',
        `Could not find operation ${action} for version ${form.Version}`,
      );
    }
    const failure = this.failures.findIndex((f) => f.action === action);
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      if (f) return void error(f.status, f.code, f.message);
    }
    if (action === 'DescribeAutoScalingGroups') return void send(200, this.describe(form, requestId));
    if (action !== 'SetDesiredCapacity') {
      return void error(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
    if (this.readOnlyKeys.has(key)) {
      return void error(
        400,
        'AccessDeniedException',
        `User: arn:aws:iam::${ACCOUNT}:user/reader is not authorized to perform: autoscaling:SetDesiredCapacity`,
      );
    }
    const g = this.groups.get(form.AutoScalingGroupName ?? '');
    if (!g) {
      return void error(
        400,
        'ValidationError',
        `AutoScalingGroup name not found - ${form.AutoScalingGroupName}`,
      );
    }
    const desired = Number(form.DesiredCapacity);
    if (!Number.isInteger(desired)) {
      return void error(400, 'ValidationError', 'DesiredCapacity must be an integer');
    }
    if (desired > g.maxSize) {
      return void error(
        400,
        'ValidationError',
        `New SetDesiredCapacity value ${desired} is above max value ${g.maxSize} for the AutoScalingGroup.`,
      );
    }
    if (desired < g.minSize) {
      return void error(
        400,
        'ValidationError',
        `New SetDesiredCapacity value ${desired} is below min value ${g.minSize} for the AutoScalingGroup.`,
      );
    }
    const honorCooldown = form.HonorCooldown === 'true';
    if (honorCooldown && Date.now() - g.changedAt < g.cooldownSeconds * 1000) {
      return void error(
        400,
        'ScalingActivityInProgress',
        'Scaling activity is in progress and blocks this action.',
      );
    }
    if (g.desired !== desired) g.changedAt = Date.now();
    g.desired = desired;
    this.sets.push({ group: g.name, desired, honorCooldown });
    send(
      200,
      `<SetDesiredCapacityResponse xmlns="${XMLNS}"><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SetDesiredCapacityResponse>`,
    );
  }

  private describe(form: Record<string, string>, requestId: string): string {
    const names = Object.entries(form)
      .filter(([k]) => /^AutoScalingGroupNames\.member\.\d+$/.test(k))
      .map(([, v]) => v);
    const groups =
      names.length > 0 ? names.flatMap((n) => this.groups.get(n) ?? []) : [...this.groups.values()];
    const withInstances = form.IncludeInstances !== 'false';
    return `<DescribeAutoScalingGroupsResponse xmlns="${XMLNS}"><DescribeAutoScalingGroupsResult><AutoScalingGroups>${groups
      .map((g) => groupXml(g, withInstances))
      .join(
        '',
      )}</AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`;
  }
}

function groupXml(g: FakeGroup, withInstances: boolean): string {
  // The group's instances: as many as desired, all in service (the fake boots them at once).
  const instances = Array.from(
    { length: withInstances ? g.desired : 0 },
    (_, i) =>
      `<member><InstanceId>i-${g.name.length}${String(i).padStart(16, '0')}</InstanceId><InstanceType>m5.large</InstanceType><AvailabilityZone>${REGION}a</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`,
  ).join('');
  return `<member><AutoScalingGroupName>${xmlText(g.name)}</AutoScalingGroupName><AutoScalingGroupARN>arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${xmlText(g.name)}</AutoScalingGroupARN><MinSize>${g.minSize}</MinSize><MaxSize>${g.maxSize}</MaxSize><DesiredCapacity>${g.desired}</DesiredCapacity><DefaultCooldown>${g.cooldownSeconds}</DefaultCooldown><AvailabilityZones><member>${REGION}a</member></AvailabilityZones><HealthCheckType>EC2</HealthCheckType><HealthCheckGracePeriod>300</HealthCheckGracePeriod><CreatedTime>2026-01-01T00:00:00.000Z</CreatedTime><Instances>${instances}</Instances></member>`;
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
