// A fake Nomad agent: the part of the HTTP API (https://developer.hashicorp.com/nomad/api-docs/jobs) that
// the nomad back-end uses, written from the public documentation, not from a running Nomad.
//   GET  /v1/job/:job              the job, with TaskGroups[].Count and Meta
//   GET  /v1/job/:job/allocations  allocations: TaskGroup, ClientStatus, DesiredStatus, DeploymentStatus
//   POST /v1/job/:job/scale        {Count, Target: {Group}, Message} → {EvalID, EvalCreateIndex, Index}
//   GET  /v1/nodes?resources=true  node stubs (https://developer.hashicorp.com/nomad/api-docs/nodes): ID, Name,
//                                  Datacenter, NodeClass, NodePool, Status, SchedulingEligibility, Drain,
//                                  ModifyIndex, and with resources=true NodeResources {Cpu {CpuShares,
//                                  TotalCpuCores}, Memory {MemoryMB}} and ReservedResources; no Meta (stubs
//                                  carry none); ?prefix= filters by ID prefix
//   GET  /v1/node/:id              the node with Meta; 404 "node not found"
//   GET  /v1/var/:path             a variable (https://developer.hashicorp.com/nomad/api-docs/variables):
//                                  {Namespace, Path, Items, CreateIndex, ModifyIndex, ...}; 404 when none
//   PUT  /v1/var/:path?cas=N       write it only if its ModifyIndex is N (0: only if there is none); a failed
//                                  check answers 409 with the variable as it is; paths are 1-128 of
//                                  [a-zA-Z0-9-_~/] and must not start with nomad/ (400 otherwise)
// ACL: X-Nomad-Token must match when a token is set ("403 Permission denied" otherwise); jobs live in a
// namespace (?namespace=, default "default"); an unknown job is "404 job not found". Stopped allocations stay
// listed with ClientStatus complete, as until Nomad's garbage collection. Injectable: an active deployment
// (scale answers 400 "job scaling blocked due to active deployment", as Nomad's Job.Scale does), slow
// answers, and one-off failures.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalServer, listenLocal } from './local-server.js';
import { pause, ReplicaSet, type Timing } from './replica-set.js';

interface Group {
  name: string;
  count: number;
  meta: Record<string, string>;
  replicas: ReplicaSet;
}
/** A client node as the fake keeps it; drain makes it ineligible, as Nomad does while a node drains. */
export interface FakeNomadNode {
  id: string;
  name: string;
  datacenter: string;
  nodeClass: string;
  pool: string;
  status: 'ready' | 'down' | 'initializing' | 'disconnected';
  eligibility: 'eligible' | 'ineligible';
  drain: boolean;
  cores: number;
  /** MHz per core: CpuShares is cores × this. */
  mhz: number;
  memoryMB: number;
  reservedCpuShares: number;
  reservedMemoryMB: number;
  meta: Record<string, string>;
  modifyIndex: number;
}

interface Job {
  id: string;
  namespace: string;
  meta: Record<string, string>;
  groups: Map<string, Group>;
  version: number;
  modifyIndex: number;
}

export class FakeNomad {
  readonly jobs = new Map<string, Job>();
  token: string | undefined;
  /** While true, scale answers as Nomad does during an active deployment. */
  deploymentActive = false;
  /** Every answer waits this long first. */
  delayMs = 0;
  /** One-off failures for the next requests matching a method and path pattern. */
  readonly failures: { method: string; path: RegExp; status: number; body: string }[] = [];
  readonly scaleRequests: { job: string; group: string; count: number; message: string }[] = [];
  /** The most tasks that existed (starting, running or stopping) at once, across every group. */
  peakExisting = 0;
  /** Client nodes by ID. */
  readonly nodes = new Map<string, FakeNomadNode>();
  /** Every GET /v1/node/:id, by node ID (Meta is read from there). */
  readonly nodeReads: string[] = [];
  /** Variables by `namespace/path`. */
  readonly variables = new Map<string, NomadVariable>();
  private index = 100;
  private server: LocalServer | undefined;

  constructor(readonly timing: Timing = { startMs: 150, stopMs: 300 }) {}

  addJob(
    id: string,
    groups: Record<string, { count?: number; meta?: Record<string, string> }>,
    options: { namespace?: string; meta?: Record<string, string> } = {},
  ): void {
    const job: Job = {
      id,
      namespace: options.namespace ?? 'default',
      meta: options.meta ?? {},
      groups: new Map(),
      version: 0,
      modifyIndex: this.index++,
    };
    for (const [name, g] of Object.entries(groups)) {
      const replicas = new ReplicaSet(this.timing, () => this.changed());
      job.groups.set(name, { name, count: g.count ?? 0, meta: g.meta ?? {}, replicas });
      replicas.setDesired(g.count ?? 0);
    }
    this.jobs.set(`${job.namespace}/${id}`, job);
  }

  addNode(name: string, options: Partial<Omit<FakeNomadNode, 'name' | 'modifyIndex'>> = {}): FakeNomadNode {
    const node: FakeNomadNode = {
      id: options.id ?? randomUUID(),
      name,
      datacenter: 'dc1',
      nodeClass: '',
      pool: 'default',
      status: 'ready',
      eligibility: 'eligible',
      drain: false,
      cores: 4,
      mhz: 2500,
      memoryMB: 8192,
      reservedCpuShares: 0,
      reservedMemoryMB: 0,
      meta: {},
      ...options,
      modifyIndex: this.index++,
    };
    this.nodes.set(node.id, node);
    return node;
  }

  /** Changes a node as Nomad would record it (a new ModifyIndex); draining makes it ineligible. */
  updateNode(name: string, change: Partial<Omit<FakeNomadNode, 'id' | 'name' | 'modifyIndex'>>): void {
    const node = [...this.nodes.values()].find((n) => n.name === name);
    if (!node) throw new Error(`fake nomad: no node ${name}`);
    Object.assign(node, change);
    if (change.drain === true) node.eligibility = 'ineligible';
    node.modifyIndex = ++this.index;
  }

  group(job: string, group: string, namespace = 'default'): Group {
    const g = this.jobs.get(`${namespace}/${job}`)?.groups.get(group);
    if (!g) throw new Error(`fake nomad: no ${job}/${group}`);
    return g;
  }

  /** Live tasks of every group. */
  existing(): number {
    let n = 0;
    for (const j of this.jobs.values()) for (const g of j.groups.values()) n += g.replicas.live().length;
    return n;
  }

  async start(): Promise<string> {
    this.server = await listenLocal((req, res) => this.handle(req, res));
    return this.server.url;
  }

  async close(): Promise<void> {
    for (const j of this.jobs.values()) for (const g of j.groups.values()) g.replicas.close();
    await this.server?.close();
  }

  /** GET and PUT (check-and-set) of one variable. */
  private variable(method: string, url: URL, body: string, res: ServerResponse): void {
    const path = decodeURIComponent(url.pathname.slice('/v1/var/'.length));
    const namespace = url.searchParams.get('namespace') ?? 'default';
    const key = `${namespace}/${path}`;
    const send = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    const text = (status: number, t: string) =>
      res.writeHead(status, { 'content-type': 'text/plain' }).end(t);
    if (!VARIABLE_PATH.test(path) || path.startsWith('nomad/'))
      return void text(400, `invalid path "${path}"`);
    const current = this.variables.get(key);
    if (method === 'GET') {
      if (current) send(200, current);
      else text(404, 'variable not found');
      return;
    }
    if (method !== 'PUT') return void text(405, 'Invalid method');
    const cas = url.searchParams.get('cas');
    if (cas !== null && Number(cas) !== (current?.ModifyIndex ?? 0)) {
      // Nomad answers a failed check-and-set with the variable as it stands (an empty one when there is none).
      return void send(409, current ?? { Namespace: namespace, Path: path, Items: {}, ModifyIndex: 0 });
    }
    const request = JSON.parse(body || '{}') as { Items?: Record<string, string> };
    const index = ++this.index;
    const now = Date.now() * 1e6;
    const written: NomadVariable = {
      Namespace: namespace,
      Path: path,
      Items: request.Items ?? {},
      CreateIndex: current?.CreateIndex ?? index,
      ModifyIndex: index,
      CreateTime: current?.CreateTime ?? now,
      ModifyTime: now,
    };
    this.variables.set(key, written);
    send(200, written);
  }

  /** GET /v1/nodes (stubs, resources on request) and GET /v1/node/:id (the node, with Meta). */
  private node(url: URL, json: (value: unknown) => void, text: (status: number, t: string) => void): void {
    const stub = (n: FakeNomadNode, resources: boolean) => ({
      Address: '10.0.0.1',
      ID: n.id,
      Name: n.name,
      Datacenter: n.datacenter,
      NodeClass: n.nodeClass,
      NodePool: n.pool,
      Drain: n.drain,
      SchedulingEligibility: n.eligibility,
      Status: n.status,
      StatusDescription: '',
      Version: '1.9.0',
      CreateIndex: n.modifyIndex,
      ModifyIndex: n.modifyIndex,
      ...(resources
        ? {
            NodeResources: {
              Cpu: {
                CpuShares: n.cores * n.mhz,
                TotalCpuCores: n.cores,
                ReservableCpuCores: Array.from({ length: n.cores }, (_, i) => i),
              },
              Memory: { MemoryMB: n.memoryMB },
              Disk: { DiskMB: 10_000 },
            },
            ReservedResources: {
              Cpu: { CpuShares: n.reservedCpuShares },
              Memory: { MemoryMB: n.reservedMemoryMB },
              Disk: { DiskMB: 0 },
            },
          }
        : {}),
    });
    if (url.pathname === '/v1/nodes') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const resources = url.searchParams.get('resources') === 'true';
      return void json(
        [...this.nodes.values()].filter((n) => n.id.startsWith(prefix)).map((n) => stub(n, resources)),
      );
    }
    const id = decodeURIComponent(url.pathname.slice('/v1/node/'.length));
    const node = this.nodes.get(id);
    if (!node) return void text(404, 'node not found');
    this.nodeReads.push(id);
    json({ ...stub(node, true), Meta: node.meta, Attributes: { 'cpu.numcores': String(node.cores) } });
  }

  private changed(): void {
    this.peakExisting = Math.max(this.peakExisting, this.existing());
    // Nomad reschedules failed allocations so the group keeps its count.
    for (const j of this.jobs.values()) {
      for (const g of j.groups.values()) {
        const active = g.replicas.tasks.filter((t) => t.state === 'starting' || t.state === 'running');
        if (active.length < g.count) g.replicas.setDesired(g.count);
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    if (this.delayMs > 0) await pause(this.delayMs);
    const text = (status: number, t: string) =>
      res.writeHead(status, { 'content-type': 'text/plain' }).end(t);
    const json = (value: unknown) =>
      res
        .writeHead(200, { 'content-type': 'application/json', 'X-Nomad-Index': String(this.index) })
        .end(JSON.stringify(value));

    const failure = this.failures.findIndex((f) => f.method === req.method && f.path.test(url.pathname));
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      if (f) return void text(f.status, f.body);
    }
    if (this.token !== undefined && req.headers['x-nomad-token'] !== this.token) {
      return void text(403, 'Permission denied');
    }
    if (url.pathname.startsWith('/v1/var/')) return this.variable(req.method ?? 'GET', url, body, res);
    if (url.pathname === '/v1/nodes' || url.pathname.startsWith('/v1/node/')) {
      if (req.method !== 'GET') return void text(405, 'Invalid method');
      return this.node(url, json, text);
    }
    const m = /^\/v1\/job\/([^/]+)(\/allocations|\/scale)?$/.exec(url.pathname);
    if (!m?.[1]) return void text(404, 'Invalid URL');
    const namespace = url.searchParams.get('namespace') ?? 'default';
    const job = this.jobs.get(`${namespace}/${decodeURIComponent(m[1])}`);
    if (!job) return void text(404, 'job not found');

    if (req.method === 'GET' && !m[2]) {
      return void json({
        ID: job.id,
        Name: job.id,
        Namespace: job.namespace,
        Type: 'service',
        Meta: Object.keys(job.meta).length ? job.meta : null,
        Version: job.version,
        JobModifyIndex: job.modifyIndex,
        TaskGroups: [...job.groups.values()].map((g) => ({
          Name: g.name,
          Count: g.count,
          Meta: Object.keys(g.meta).length ? g.meta : null,
        })),
      });
    }
    if (req.method === 'GET' && m[2] === '/allocations') {
      return void json(
        [...job.groups.values()].flatMap((g) =>
          g.replicas.tasks.map((t) => ({
            ID: t.id,
            JobID: job.id,
            Namespace: job.namespace,
            TaskGroup: g.name,
            DesiredStatus: t.state === 'stopping' || t.state === 'stopped' ? 'stop' : 'run',
            ClientStatus: t.state === 'starting' ? 'pending' : t.state === 'stopped' ? 'complete' : 'running',
            DeploymentStatus: null,
            CreateTime: t.createdAt * 1e6,
          })),
        ),
      );
    }
    if ((req.method === 'POST' || req.method === 'PUT') && m[2] === '/scale') {
      const request = JSON.parse(body || '{}') as {
        Count?: number;
        Target?: { Group?: string };
        Message?: string;
      };
      const group = job.groups.get(request.Target?.Group ?? '');
      if (!group)
        return void text(
          400,
          `task group "${request.Target?.Group}" specified for scaling does not exist in job`,
        );
      if (typeof request.Count !== 'number' || request.Count < 0) {
        return void text(400, 'scaling action count can not be negative');
      }
      if (this.deploymentActive) return void text(400, 'job scaling blocked due to active deployment');
      this.scaleRequests.push({
        job: job.id,
        group: group.name,
        count: request.Count,
        message: request.Message ?? '',
      });
      group.count = request.Count;
      job.version++;
      job.modifyIndex = ++this.index;
      group.replicas.setDesired(request.Count);
      return void json({
        EvalID: randomUUID(),
        EvalCreateIndex: this.index,
        JobModifyIndex: this.index,
        Index: this.index,
      });
    }
    text(405, 'Invalid method');
  }
}

export interface NomadVariable {
  Namespace: string;
  Path: string;
  Items: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

const VARIABLE_PATH = /^[a-zA-Z0-9\-_~/]{1,128}$/;

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      s += c;
    });
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}
