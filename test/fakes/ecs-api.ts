// A fake Amazon ECS endpoint: the four actions the ecs back-end calls, in the AWS JSON 1.1 protocol the
// SDK speaks (POST /, X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>), written from the public
// API reference (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/), not from a real ECS.
//   DescribeServices {cluster, services, include:[TAGS]} → {services: [...runningCount, pendingCount, tags], failures}
//   UpdateService {cluster, service, desiredCount}       → {service}
//   ListTasks {cluster, serviceName, desiredStatus}      → {taskArns}
//   DescribeTasks {cluster, tasks}                       → {tasks: [{taskArn, lastStatus, desiredStatus}]}
//   DescribeClusters {clusters}                          → {clusters: [{clusterArn, clusterName, status}], failures}
//   ListTagsForResource {resourceArn}                    → {tags: [{key, value}]} (the cluster's)
//   TagResource {resourceArn, tags: [{key, value}]}      → {} (adds or overwrites; last writer wins; 50 at most)
// Errors are HTTP 400 with {"__type": name, "message"}: ClusterNotFoundException, ServiceNotFoundException,
// UnrecognizedClientException (unknown access key), AccessDeniedException (a key that may only read); a
// missing service in DescribeServices is a failure with reason MISSING. The SigV4 signature is not
// checked, only the access key id in it. Injectable: slow answers, throttling, one-off failures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalServer, listenLocal } from './local-server.js';
import { readBody } from './nomad-api.js';
import { pause, ReplicaSet, type Timing } from './replica-set.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

interface Service {
  name: string;
  desiredCount: number;
  status: string;
  tags: Record<string, string>;
  replicas: ReplicaSet;
}

export class FakeEcs {
  readonly clusterName = 'prod';
  readonly services = new Map<string, Service>();
  /** Access key ids that may call everything; others are unknown. */
  readonly keys = new Set(['AKIDFAKE']);
  /** Access key ids that may only describe and list. */
  readonly readOnlyKeys = new Set<string>();
  delayMs = 0;
  readonly failures: { action: string; type: string; message: string; status: number }[] = [];
  readonly updates: { service: string; desiredCount: number }[] = [];
  /** The cluster's own tags. */
  readonly clusterTags = new Map<string, string>();
  peakExisting = 0;
  private server: LocalServer | undefined;

  constructor(readonly timing: Timing = { startMs: 150, stopMs: 300 }) {}

  addService(name: string, options: { desiredCount?: number; tags?: Record<string, string> } = {}): void {
    const s: Service = {
      name,
      desiredCount: options.desiredCount ?? 0,
      status: 'ACTIVE',
      tags: options.tags ?? {},
      replicas: new ReplicaSet(this.timing, () => this.changed()),
    };
    this.services.set(name, s);
    s.replicas.setDesired(s.desiredCount);
  }

  service(name: string): Service {
    const s = this.services.get(name);
    if (!s) throw new Error(`fake ecs: no service ${name}`);
    return s;
  }

  existing(): number {
    let n = 0;
    for (const s of this.services.values()) n += s.replicas.live().length;
    return n;
  }

  async start(): Promise<string> {
    this.server = await listenLocal((req, res) => this.handle(req, res));
    return this.server.url;
  }

  async close(): Promise<void> {
    for (const s of this.services.values()) s.replicas.close();
    await this.server?.close();
  }

  private changed(): void {
    this.peakExisting = Math.max(this.peakExisting, this.existing());
    // The service scheduler replaces tasks that stopped on their own.
    for (const s of this.services.values()) {
      const active = s.replicas.tasks.filter((t) => t.state === 'starting' || t.state === 'running').length;
      if (active < s.desiredCount) s.replicas.setDesired(s.desiredCount);
    }
  }

  private arn(kind: string, id: string): string {
    return `arn:aws:ecs:${REGION}:${ACCOUNT}:${kind}/${this.clusterName}/${id}`;
  }

  private view(s: Service): Record<string, unknown> {
    const live = s.replicas.live();
    return {
      serviceArn: this.arn('service', s.name),
      serviceName: s.name,
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${this.clusterName}`,
      status: s.status,
      desiredCount: s.desiredCount,
      runningCount: live.filter((t) => t.state === 'running').length,
      pendingCount: live.filter((t) => t.state === 'starting').length,
      launchType: 'FARGATE',
      schedulingStrategy: 'REPLICA',
      tags: Object.entries(s.tags).map(([key, value]) => ({ key, value })),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (this.delayMs > 0) await pause(this.delayMs);
    const send = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(value));
    const error = (type: string, message: string, status = 400) => send(status, { __type: type, message });
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.replace(/^AmazonEC2ContainerServiceV20141113\./, '');
    if (req.method !== 'POST' || action === target) return void error('UnknownOperationException', target);
    const key = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if (!this.keys.has(key) && !this.readOnlyKeys.has(key)) {
      return void error(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    const failure = this.failures.findIndex((f) => f.action === action);
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      if (f) return void error(f.type, f.message, f.status);
    }
    const input = JSON.parse(body || '{}') as Record<string, unknown>;
    const clusterArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${this.clusterName}`;
    if (action === 'DescribeClusters') {
      const names = (input.clusters as string[] | undefined) ?? ['default'];
      const ours = (n: string) => n === this.clusterName || n === clusterArn;
      return void send(200, {
        clusters: names
          .filter(ours)
          .map(() => ({ clusterArn, clusterName: this.clusterName, status: 'ACTIVE' })),
        failures: names.filter((n) => !ours(n)).map((n) => ({ arn: n, reason: 'MISSING' })),
      });
    }
    if (action === 'ListTagsForResource' || action === 'TagResource') {
      if (input.resourceArn !== clusterArn) {
        return void error(
          'InvalidParameterException',
          'The specified resource is not found or not taggable.',
        );
      }
      if (action === 'ListTagsForResource') {
        return void send(200, { tags: [...this.clusterTags].map(([key, value]) => ({ key, value })) });
      }
      if (this.readOnlyKeys.has(key)) {
        return void error(
          'AccessDeniedException',
          `not authorized to perform: ecs:TagResource on ${clusterArn}`,
        );
      }
      const tags = (input.tags as { key: string; value: string }[] | undefined) ?? [];
      for (const t of tags) this.clusterTags.set(t.key, t.value ?? '');
      if (this.clusterTags.size > 50) return void error('InvalidParameterException', 'too many tags');
      return void send(200, {});
    }
    const cluster = String(input.cluster ?? 'default');
    if (
      cluster !== this.clusterName &&
      cluster !== `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${this.clusterName}`
    ) {
      return void error('ClusterNotFoundException', 'Cluster not found.');
    }
    if (action === 'DescribeServices') {
      const names = (input.services as string[] | undefined) ?? [];
      if (names.length > 10)
        return void error('InvalidParameterException', 'services can have at most 10 items.');
      const found = names.map((n) => this.services.get(n.replace(/^.*\//, '')));
      const include = ((input.include as string[] | undefined) ?? []).includes('TAGS');
      return void send(200, {
        services: found.flatMap((s) => {
          if (!s) return [];
          const v = this.view(s);
          if (!include) delete v.tags;
          return [v];
        }),
        failures: names.flatMap((n, i) =>
          found[i] ? [] : [{ arn: this.arn('service', n), reason: 'MISSING' }],
        ),
      });
    }
    if (action === 'UpdateService') {
      if (this.readOnlyKeys.has(key)) {
        return void error(
          'AccessDeniedException',
          `User: arn:aws:iam::${ACCOUNT}:user/viewer is not authorized to perform: ecs:UpdateService on resource: ${this.arn('service', String(input.service))}`,
        );
      }
      const s = this.services.get(String(input.service ?? '').replace(/^.*\//, ''));
      if (!s) return void error('ServiceNotFoundException', 'Service not found.');
      if (s.status !== 'ACTIVE') return void error('ServiceNotActiveException', 'Service was not ACTIVE.');
      const n = input.desiredCount;
      if (typeof n !== 'number' || n < 0)
        return void error('InvalidParameterException', 'desiredCount must be >= 0');
      this.updates.push({ service: s.name, desiredCount: n });
      s.desiredCount = n;
      s.replicas.setDesired(n);
      return void send(200, { service: this.view(s) });
    }
    if (action === 'ListTasks') {
      const s = this.services.get(String(input.serviceName ?? ''));
      if (!s) return void error('ServiceNotFoundException', 'Service not found.');
      const stopped = input.desiredStatus === 'STOPPED';
      return void send(200, {
        taskArns: s.replicas.tasks
          .filter((t) => (t.state === 'stopping' || t.state === 'stopped') === stopped)
          .map((t) => this.arn('task', t.id)),
      });
    }
    if (action === 'DescribeTasks') {
      const ids = ((input.tasks as string[] | undefined) ?? []).map((a) => a.replace(/^.*\//, ''));
      const all = [...this.services.values()].flatMap((s) => s.replicas.tasks);
      return void send(200, {
        tasks: all
          .filter((t) => ids.includes(t.id))
          .map((t) => ({
            taskArn: this.arn('task', t.id),
            lastStatus:
              t.state === 'starting'
                ? 'PENDING'
                : t.state === 'running'
                  ? 'RUNNING'
                  : t.state === 'stopping'
                    ? 'DEACTIVATING'
                    : 'STOPPED',
            desiredStatus: t.state === 'stopping' || t.state === 'stopped' ? 'STOPPED' : 'RUNNING',
          })),
        failures: [],
      });
    }
    error('UnknownOperationException', `${action} is not implemented by this fake`);
  }
}
