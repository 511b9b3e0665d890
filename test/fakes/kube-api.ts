// A fake Kubernetes API server for the kubernetes back-end's tests: no real cluster can run here. Written from
// the public API reference (apps/v1 Deployment and StatefulSet, their autoscaling/v1 `scale` subresource,
// core/v1 Pod list and watch with label selectors, metav1 Status errors, optimistic concurrency on
// resourceVersion, 410 Gone for a watch that resumes from a compacted version), and coordination.k8s.io/v1
// Lease objects (get, create, replace, delete; every write bumps resourceVersion, a write carrying a stale
// one gets 409 Conflict, a create of an existing name 409 AlreadyExists), Deployment create (POST, 409
// AlreadyExists, 422 when the selector does not match the template's labels) and merge-patch of a Deployment
// (spec.replicas, spec.template replaced, metadata.labels merged, resourceVersion checked), and
// scheduling.k8s.io/v1 PriorityClass get.
// It serves HTTPS with a CA made by openssl at start into a temporary folder, accepts a bearer token or a
// client certificate signed by that CA, and plays the workload controllers: a scale change creates pods that
// become ready after `readyDelayMs`, or marks the newest pods terminating (deletionTimestamp) and removes
// them after `terminateDelayMs`. Not implemented: field selectors, bookmarks, strategic-merge semantics
// beyond the replica count, anything microscaler does not call.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

type Kind = 'deployments' | 'statefulsets';

interface Pod {
  readonly name: string;
  namespace: string;
  resourceVersion: string;
  readonly owner: string;
  readonly labels: Record<string, string>;
  ready: boolean;
  deletionTimestamp: string | undefined;
}

interface FakeWorkload {
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
  labels: Record<string, string>;
  replicas: number;
  readonly matchLabels: Record<string, string>;
  resourceVersion: string;
  generation: number;
  serial: number;
  /** spec.template as the client wrote it (created through the API); absent for added workloads. */
  template?: unknown;
}

/** A scheduling.k8s.io/v1 PriorityClass (cluster-scoped). */
export interface FakePriorityClass {
  readonly value: number;
  readonly preemptionPolicy?: string;
}

/** A coordination.k8s.io/v1 Lease as stored: metadata kept by the server, spec as the client wrote it. */
export interface FakeLease {
  readonly namespace: string;
  readonly name: string;
  resourceVersion: string;
  readonly uid: string;
  readonly creationTimestamp: string;
  spec: Record<string, unknown>;
}

export interface WorkloadInit {
  readonly kind?: Kind;
  readonly namespace?: string;
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly replicas?: number;
}

export interface FakeNode {
  readonly name: string;
  labels: Record<string, string>;
  /** status.allocatable, as quantities: "3800m", "15Gi". */
  allocatable: { cpu: string; memory: string };
  ready: boolean;
  unschedulable: boolean;
}

export interface OtherPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly labels: Record<string, string>;
  readonly phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Per container: resources.requests. */
  readonly containers: { cpu?: string; memory?: string }[];
}

export interface Certificates {
  readonly dir: string;
  readonly ca: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** Signed by another CA: the server must refuse it. */
  readonly strangerCert: Buffer;
  readonly strangerKey: Buffer;
}

export class FakeKubeApi {
  #server: Server | undefined;
  #timers = new Set<NodeJS.Timeout>();
  #version = 1000;
  #pods = new Map<string, Pod>();
  readonly workloads = new Map<string, FakeWorkload>();
  /** Bearer tokens the server accepts; change it to rotate or revoke. */
  readonly tokens = new Set<string>();
  /** Every request, as `METHOD path` (no query), in order. */
  readonly requests: string[] = [];
  /** Every accepted scale change: `kind/name=replicas`. */
  readonly patches: string[] = [];
  /** Lease objects by `namespace/name`. */
  readonly leases = new Map<string, FakeLease>();
  /** The next N Lease PUTs are preceded by someone else's write to the Lease, so theirs are stale. */
  foreignLeaseWrites = 0;
  /** Requests bearing one of these tokens are never answered (a client cut off by a silent network). */
  readonly stalledTokens = new Set<string>();
  /** Answer 403 Forbidden to every request when set. */
  forbidden = false;
  /** Answer 403 Forbidden to scale PATCHes only when set (a Role that allows get but not patch). */
  forbidScalePatch = false;
  /** Delay before every answer (slow API server). */
  delayMs = 0;
  /** The next N scale PATCHes are preceded by someone else's write to the workload, so theirs are stale. */
  foreignWrites = 0;
  readyDelayMs = 150;
  terminateDelayMs = 150;
  /** How long the workload controller takes to act on a new spec.replicas. */
  reconcileDelayMs = 20;
  /** Pod changes since the last compaction, for watches that resume from a resourceVersion. */
  #history: { readonly version: number; readonly type: string; readonly pod: Pod; readonly json: unknown }[] =
    [];
  #compactedAt = 0;
  #watchers = new Set<{
    readonly match: (p: Pod) => boolean;
    readonly res: ServerResponse;
  }>();
  /** Pod lifecycle, in order: created (owner's name), or told to terminate. */
  readonly podEvents: {
    readonly at: number;
    readonly owner: string;
    readonly type: 'create' | 'terminate';
  }[] = [];
  /** Nodes (GET /api/v1/nodes), for capacity read from the cluster; none unless a test adds them. */
  readonly nodes = new Map<string, FakeNode>();
  /** Pods that no workload of the fake owns (someone else's), as GET /api/v1/pods lists them with the rest. */
  readonly otherPods: OtherPod[] = [];
  /** Largest number of pods (terminating included) that existed at once, since start or reset. */
  peakPods = 0;
  /** PriorityClasses by name. */
  readonly priorityClasses = new Map<string, FakePriorityClass>();
  url = '';

  private constructor(readonly certs: Certificates) {}

  static async start(): Promise<FakeKubeApi> {
    const certs = makeCertificates();
    const fake = new FakeKubeApi(certs);
    const server = createServer(
      {
        key: readFileSync(join(certs.dir, 'server.key')),
        cert: readFileSync(join(certs.dir, 'server.crt')),
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        fake.#handle(req, res).catch((error: unknown) => {
          if (!res.headersSent) fake.#status(res, 500, 'InternalError', String(error));
        });
      },
    );
    fake.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    return fake;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    rmSync(this.certs.dir, { recursive: true, force: true });
  }

  addWorkload(init: WorkloadInit): void {
    const kind = init.kind ?? 'deployments';
    const namespace = init.namespace ?? 'default';
    const w: FakeWorkload = {
      kind,
      namespace,
      name: init.name,
      labels: { ...(init.labels ?? {}) },
      replicas: 0,
      matchLabels: { app: init.name },
      resourceVersion: this.#bump(),
      generation: 1,
      serial: 0,
    };
    this.workloads.set(key(kind, namespace, init.name), w);
    if (init.replicas) this.setReplicas(w, init.replicas, true);
  }

  workload(name: string, kind: Kind = 'deployments', namespace = 'default'): FakeWorkload {
    const w = this.workloads.get(key(kind, namespace, name));
    if (!w) throw new Error(`no workload ${kind}/${name}`);
    return w;
  }

  /** Someone else edits the workload (e.g. kubectl label): a new resourceVersion. */
  relabel(name: string, labels: Record<string, string>, kind: Kind = 'deployments'): void {
    const w = this.workload(name, kind);
    w.labels = { ...labels };
    w.resourceVersion = this.#bump();
  }

  /** Pods of a workload: ready, starting (not ready), terminating. */
  pods(name: string): { ready: number; starting: number; terminating: number } {
    const c = { ready: 0, starting: 0, terminating: 0 };
    for (const p of this.#pods.values()) {
      if (p.owner !== name) continue;
      if (p.deletionTimestamp) c.terminating++;
      else if (p.ready) c.ready++;
      else c.starting++;
    }
    return c;
  }

  /** Names of a workload's pods that exist (terminating ones included). */
  podNames(name: string): string[] {
    return [...this.#pods.values()].filter((p) => p.owner === name).map((p) => p.name);
  }

  /** A pod deleted behind microscaler's back (kubectl delete pod): it terminates and the controller replaces it. */
  deletePod(owner: string): void {
    const pod = [...this.#pods.values()].find((p) => p.owner === owner && !p.deletionTimestamp);
    if (!pod) throw new Error(`no live pod of ${owner}`);
    this.#terminate(pod);
    const w = [...this.workloads.values()].find((x) => x.name === owner);
    if (w) this.#later(this.reconcileDelayMs, () => this.#reconcile(w));
  }

  /** Sets spec.replicas as the API would on an accepted write, and lets the controller act later (or now). */
  setReplicas(w: FakeWorkload, replicas: number, now = false): void {
    w.replicas = replicas;
    w.generation++;
    w.resourceVersion = this.#bump();
    if (now) this.#reconcile(w, true);
    else this.#later(this.reconcileDelayMs, () => this.#reconcile(w));
  }

  #bump(): string {
    this.#version++;
    return String(this.#version);
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** The ReplicaSet/StatefulSet controller: make the live pod count match spec.replicas. */
  #reconcile(w: FakeWorkload, instant = false): void {
    const live = [...this.#pods.values()].filter((p) => p.owner === w.name && !p.deletionTimestamp);
    for (let i = live.length; i < w.replicas; i++) {
      const pod: Pod = {
        name: `${w.name}-${++w.serial}`,
        namespace: w.namespace,
        resourceVersion: '',
        owner: w.name,
        labels: { ...w.matchLabels },
        ready: instant,
        deletionTimestamp: undefined,
      };
      this.#pods.set(pod.name, pod);
      this.podEvents.push({ at: Date.now(), owner: w.name, type: 'create' });
      this.#podChanged('ADDED', pod);
      if (!instant) {
        this.#later(this.readyDelayMs, () => {
          if (!pod.deletionTimestamp && this.#pods.has(pod.name)) {
            pod.ready = true;
            w.resourceVersion = this.#bump();
            this.#podChanged('MODIFIED', pod);
          }
        });
      }
    }
    // Newest first, as the ReplicaSet controller prefers not-ready and younger pods.
    for (const pod of live.slice(w.replicas).reverse()) this.#terminate(pod);
    this.peakPods = Math.max(this.peakPods, this.#pods.size);
    w.resourceVersion = this.#bump();
  }

  #terminate(pod: Pod): void {
    pod.deletionTimestamp = new Date().toISOString();
    this.podEvents.push({ at: Date.now(), owner: pod.owner, type: 'terminate' });
    pod.ready = false;
    this.#podChanged('MODIFIED', pod);
    this.#later(this.terminateDelayMs, () => {
      this.#pods.delete(pod.name);
      this.#podChanged('DELETED', pod);
    });
  }

  /** Forgets the pod history: a watch resuming from before now gets 410 Gone, as after an etcd compaction. */
  compact(): void {
    this.#history = [];
    // As if writes happened since and were compacted away too: every version seen so far is too old.
    this.#compactedAt = Number(this.#bump());
  }

  /** Ends every open watch, as an API server does at its timeout or on restart. */
  endWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  #podChanged(type: string, pod: Pod): void {
    pod.resourceVersion = this.#bump();
    const json = this.#podJson(pod);
    this.#history.push({ version: Number(pod.resourceVersion), type, pod, json });
    for (const w of this.#watchers) {
      if (w.match(pod)) w.res.write(`${JSON.stringify({ type, object: json })}\n`);
    }
  }

  #podJson(p: Pod): unknown {
    return {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name: p.name,
        namespace: p.namespace,
        labels: p.labels,
        resourceVersion: p.resourceVersion,
        ...(p.deletionTimestamp ? { deletionTimestamp: p.deletionTimestamp } : {}),
      },
      status: { conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False' }] },
    };
  }

  #watch(res: ServerResponse, match: (p: Pod) => boolean, from: string | null): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const since = from ? Number(from) : this.#version;
    if (from && since < this.#compactedAt) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
        message: `too old resource version: ${from} (${this.#compactedAt})`,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    for (const e of this.#history) {
      if (e.version > since && match(e.pod))
        res.write(`${JSON.stringify({ type: e.type, object: e.json })}\n`);
    }
    const watcher = { match, res };
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    const text = await readBody(req);
    if (this.delayMs > 0) await new Promise((r) => this.#later(this.delayMs, () => r(undefined)));
    if (res.destroyed) return;
    const socket = req.socket as TLSSocket;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && this.stalledTokens.has(token)) return; // the connection stays open, silent, until stop()
    const byCert = socket.authorized && socket.getPeerCertificate()?.subject !== undefined;
    if (!(token && this.tokens.has(token)) && !byCert) {
      return this.#status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    if (this.forbidden) {
      return this.#status(
        res,
        403,
        'Forbidden',
        `${url.pathname} is forbidden: User "system:serviceaccount:default:microscaler" cannot ${method.toLowerCase()} it`,
      );
    }
    const apps =
      /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)(\/scale)?$/.exec(
        url.pathname,
      );
    if (apps) {
      const [, ns, kind, name, scale] = apps as unknown as [string, string, Kind, string, string | undefined];
      const w = this.workloads.get(key(kind, ns, name));
      if (!w) return this.#status(res, 404, 'NotFound', `${kind}.apps "${name}" not found`);
      if (method === 'GET') return this.#json(res, 200, scale ? this.#scaleOf(w) : this.#workloadOf(w));
      if (method === 'PATCH' && !scale) return this.#patchWorkload(req, res, w, text);
      if (method === 'PATCH' && scale && this.forbidScalePatch) {
        return this.#status(
          res,
          403,
          'Forbidden',
          `${kind}.apps "${name}" is forbidden: User "system:serviceaccount:default:microscaler" cannot patch resource "${kind}/scale"`,
        );
      }
      if (method === 'PATCH' && scale) return this.#patchScale(req, res, w, text);
      return this.#status(res, 405, 'MethodNotAllowed', `${method} is not allowed here`);
    }
    const create = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/.exec(url.pathname);
    if (create && method === 'POST') return this.#createDeployment(res, create[1] ?? '', text);
    const pc = /^\/apis\/scheduling\.k8s\.io\/v1\/priorityclasses\/([^/]+)$/.exec(url.pathname);
    if (pc && method === 'GET') {
      const found = this.priorityClasses.get(pc[1] ?? '');
      if (!found) {
        return this.#status(res, 404, 'NotFound', `priorityclasses.scheduling.k8s.io "${pc[1]}" not found`);
      }
      return this.#json(res, 200, {
        kind: 'PriorityClass',
        apiVersion: 'scheduling.k8s.io/v1',
        metadata: { name: pc[1] },
        value: found.value,
        preemptionPolicy: found.preemptionPolicy ?? 'PreemptLowerPriority',
        globalDefault: false,
      });
    }
    const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (pods && method === 'GET') {
      const match = parseSelector(url.searchParams.get('labelSelector') ?? '');
      if (!match) return this.#status(res, 400, 'BadRequest', 'unable to parse requirement');
      const selected = (p: Pod) => p.namespace === pods[1] && match(p.labels);
      const watch = url.searchParams.get('watch');
      if (watch === '1' || watch === 'true') {
        return this.#watch(res, selected, url.searchParams.get('resourceVersion'));
      }
      const items = [...this.#pods.values()].filter(selected).map((p) => this.#podJson(p));
      return this.#json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.#version) },
        items,
      });
    }
    if (url.pathname === '/api/v1/nodes' && method === 'GET') {
      const match = parseSelector(url.searchParams.get('labelSelector') ?? '');
      if (!match) return this.#status(res, 400, 'BadRequest', 'unable to parse requirement');
      const items = [...this.nodes.values()].filter((n) => match(n.labels)).map(nodeJson);
      return this.#json(res, 200, { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items });
    }
    if (url.pathname === '/api/v1/pods' && method === 'GET') {
      // Cluster-wide, with the one field selector a capacity reader uses: status.phase!=X,...
      const field = url.searchParams.get('fieldSelector') ?? '';
      const excluded = [...field.matchAll(/status\.phase!=(\w+)/g)].map((m) => m[1]);
      const items = [
        ...[...this.#pods.values()].map((p) => this.#podJson(p)),
        ...this.otherPods.filter((p) => !excluded.includes(p.phase)).map(otherPodJson),
      ];
      return this.#json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
    }
    const leases = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(
      url.pathname,
    );
    if (leases) return this.#lease(res, method, leases[1] ?? '', leases[2], text);
    return this.#status(res, 404, 'NotFound', 'the server could not find the requested resource');
  }

  /** Lease get (GET item), create (POST collection), replace (PUT item), delete (DELETE item). */
  async #lease(
    res: ServerResponse,
    method: string,
    ns: string,
    name: string | undefined,
    text: string,
  ): Promise<void> {
    const existing = name ? this.leases.get(`${ns}/${name}`) : undefined;
    const notFound = () =>
      this.#status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
    if (name && method === 'GET') return existing ? this.#json(res, 200, leaseJson(existing)) : notFound();
    if (name && method === 'DELETE') {
      if (!existing) return notFound();
      this.leases.delete(`${ns}/${name}`);
      return this.#json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    if (!((method === 'POST' && !name) || (method === 'PUT' && name))) {
      return this.#status(res, 405, 'MethodNotAllowed', `${method} is not allowed here`);
    }
    let body: { metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      return this.#status(res, 400, 'BadRequest', 'invalid JSON');
    }
    const bodyName = body.metadata?.name;
    if (typeof bodyName !== 'string' || bodyName === '' || (name && bodyName !== name)) {
      return this.#status(
        res,
        400,
        'BadRequest',
        'the name of the object does not match the name on the URL',
      );
    }
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    const duration = spec.leaseDurationSeconds;
    if (
      duration !== undefined &&
      duration !== null &&
      !(Number.isInteger(duration) && Number(duration) > 0)
    ) {
      return this.#status(
        res,
        422,
        'Invalid',
        `Lease.coordination.k8s.io "${bodyName}" is invalid: spec.leaseDurationSeconds: Invalid value: must be greater than 0`,
      );
    }
    if (method === 'POST') {
      if (this.leases.has(`${ns}/${bodyName}`)) {
        return this.#status(
          res,
          409,
          'AlreadyExists',
          `leases.coordination.k8s.io "${bodyName}" already exists`,
        );
      }
      const lease: FakeLease = {
        namespace: ns,
        name: bodyName,
        resourceVersion: this.#bump(),
        uid: `uid-${this.#version}`,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        spec,
      };
      this.leases.set(`${ns}/${bodyName}`, lease);
      return this.#json(res, 201, leaseJson(lease));
    }
    // PUT: a Lease is not created on update; a resourceVersion in the body must be the current one.
    if (!existing) return notFound();
    if (this.foreignLeaseWrites > 0) {
      this.foreignLeaseWrites--;
      existing.resourceVersion = this.#bump();
    }
    const rv = body.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== existing.resourceVersion) {
      return this.#status(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on leases.coordination.k8s.io "${bodyName}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    existing.spec = spec;
    existing.resourceVersion = this.#bump();
    return this.#json(res, 200, leaseJson(existing));
  }

  #patchScale(req: IncomingMessage, res: ServerResponse, w: FakeWorkload, text: string): void {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/(merge-patch|strategic-merge-patch)\+json/.test(type)) {
      this.#status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format`);
      return;
    }
    if (this.foreignWrites > 0) {
      this.foreignWrites--;
      w.resourceVersion = this.#bump();
    }
    let patch: { metadata?: { resourceVersion?: string }; spec?: { replicas?: unknown } };
    try {
      patch = JSON.parse(text);
    } catch {
      this.#status(res, 400, 'BadRequest', 'invalid JSON');
      return;
    }
    const rv = patch.metadata?.resourceVersion;
    if (rv !== undefined && rv !== w.resourceVersion) {
      this.#status(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${w.kind}.apps "${w.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
      return;
    }
    const replicas = patch.spec?.replicas;
    if (replicas !== undefined) {
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        this.#status(res, 422, 'Invalid', `spec.replicas: Invalid value: must be greater than or equal to 0`);
        return;
      }
      if (replicas !== w.replicas) {
        this.setReplicas(w, replicas);
        this.patches.push(`${w.kind}/${w.name}=${replicas}`);
      }
    }
    this.#json(res, 200, this.#scaleOf(w));
  }

  /** POST of a Deployment: validated as the API server does for what the fake models. */
  #createDeployment(res: ServerResponse, ns: string, text: string) {
    let body: {
      metadata?: { name?: unknown; labels?: Record<string, string> };
      spec?: {
        replicas?: unknown;
        selector?: { matchLabels?: Record<string, string> };
        template?: { metadata?: { labels?: Record<string, string> } };
      };
    };
    try {
      body = JSON.parse(text);
    } catch {
      return this.#status(res, 400, 'BadRequest', 'invalid JSON');
    }
    const name = body.metadata?.name;
    if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      return this.#status(res, 422, 'Invalid', `Deployment.apps is invalid: metadata.name: Invalid value`);
    }
    if (this.workloads.has(key('deployments', ns, name))) {
      return this.#status(res, 409, 'AlreadyExists', `deployments.apps "${name}" already exists`);
    }
    const matchLabels = body.spec?.selector?.matchLabels ?? {};
    const podLabels = body.spec?.template?.metadata?.labels ?? {};
    const selects =
      Object.keys(matchLabels).length > 0 &&
      Object.entries(matchLabels).every(([k, v]) => podLabels[k] === v);
    if (!selects) {
      return this.#status(
        res,
        422,
        'Invalid',
        `Deployment.apps "${name}" is invalid: spec.template.metadata.labels: Invalid value: \`selector\` does not match template \`labels\``,
      );
    }
    const replicas = body.spec?.replicas ?? 1;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      return this.#status(
        res,
        422,
        'Invalid',
        `spec.replicas: Invalid value: must be greater than or equal to 0`,
      );
    }
    const w: FakeWorkload = {
      kind: 'deployments',
      namespace: ns,
      name,
      labels: { ...(body.metadata?.labels ?? {}) },
      replicas: 0,
      matchLabels: { ...matchLabels },
      resourceVersion: this.#bump(),
      generation: 1,
      serial: 0,
      template: body.spec?.template,
    };
    this.workloads.set(key('deployments', ns, name), w);
    this.setReplicas(w, replicas);
    this.patches.push(`deployments/${name}=${replicas}`);
    this.#json(res, 201, this.#workloadOf(w));
  }

  /** A merge patch of the workload itself: labels, spec.replicas and spec.template, resourceVersion checked. */
  #patchWorkload(req: IncomingMessage, res: ServerResponse, w: FakeWorkload, text: string) {
    if (!/^application\/merge-patch\+json/.test(req.headers['content-type'] ?? '')) {
      return this.#status(
        res,
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format',
      );
    }
    let patch: {
      metadata?: { resourceVersion?: string; labels?: Record<string, string | null> };
      spec?: { replicas?: unknown; template?: unknown };
    };
    try {
      patch = JSON.parse(text);
    } catch {
      return this.#status(res, 400, 'BadRequest', 'invalid JSON');
    }
    const rv = patch.metadata?.resourceVersion;
    if (rv !== undefined && rv !== w.resourceVersion) {
      return this.#status(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${w.kind}.apps "${w.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const replicas = patch.spec?.replicas;
    if (
      replicas !== undefined &&
      (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    ) {
      return this.#status(
        res,
        422,
        'Invalid',
        `spec.replicas: Invalid value: must be greater than or equal to 0`,
      );
    }
    for (const [k, v] of Object.entries(patch.metadata?.labels ?? {})) {
      if (v === null) delete w.labels[k];
      else w.labels[k] = v;
    }
    if (patch.spec?.template !== undefined) w.template = patch.spec.template;
    if (typeof replicas === 'number' && replicas !== w.replicas) {
      this.setReplicas(w, replicas);
      this.patches.push(`${w.kind}/${w.name}=${replicas}`);
    } else {
      w.resourceVersion = this.#bump();
    }
    this.#json(res, 200, this.#workloadOf(w));
  }

  #scaleOf(w: FakeWorkload): unknown {
    const c = this.pods(w.name);
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: w.name, namespace: w.namespace, resourceVersion: w.resourceVersion },
      spec: { replicas: w.replicas },
      status: { replicas: c.ready + c.starting, selector: selectorText(w.matchLabels) },
    };
  }

  #workloadOf(w: FakeWorkload): unknown {
    const c = this.pods(w.name);
    return {
      kind: w.kind === 'deployments' ? 'Deployment' : 'StatefulSet',
      apiVersion: 'apps/v1',
      metadata: {
        name: w.name,
        namespace: w.namespace,
        labels: w.labels,
        resourceVersion: w.resourceVersion,
        generation: w.generation,
      },
      spec: {
        replicas: w.replicas,
        selector: { matchLabels: w.matchLabels },
        ...(w.template !== undefined ? { template: w.template } : {}),
      },
      // Terminating pods are not counted in status, as the ReplicaSet controller filters them out.
      status: { replicas: c.ready + c.starting, readyReplicas: c.ready, observedGeneration: w.generation },
    };
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.#json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
  }
}

function leaseJson(l: FakeLease): unknown {
  return {
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    metadata: {
      name: l.name,
      namespace: l.namespace,
      uid: l.uid,
      resourceVersion: l.resourceVersion,
      creationTimestamp: l.creationTimestamp,
    },
    spec: l.spec,
  };
}

function key(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function selectorText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The label selector grammar: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k; comma means and. */
export function parseSelector(text: string): ((labels: Record<string, string>) => boolean) | undefined {
  const parts = text
    .split(/,(?![^(]*\))/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const tests: ((l: Record<string, string>) => boolean)[] = [];
  for (const part of parts) {
    const eq = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part);
    const set = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    const has = /^(!?)([\w./-]+)$/.exec(part);
    if (eq) {
      const [, k, op, v] = eq as unknown as [string, string, string, string];
      tests.push(op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v);
    } else if (set) {
      const [, k, op, list] = set as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      tests.push(
        op === 'in' ? (l) => l[k] !== undefined && values.has(l[k]) : (l) => !values.has(l[k] ?? ''),
      );
    } else if (has) {
      const [, not, k] = has as unknown as [string, string, string];
      tests.push(not ? (l) => !(k in l) : (l) => k in l);
    } else return undefined;
  }
  return (labels) => tests.every((t) => t(labels));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A CA, a server certificate for 127.0.0.1, a client certificate it signed, and one it did not. */
function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'microscaler-kube-'));
  const ssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    );
  const leaf = (name: string, signer: string, ext?: string) => {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    const extArgs = ext ? ['-extfile', 'ext.cnf'] : [];
    if (ext) writeFileSync(join(dir, 'ext.cnf'), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${signer}.crt`,
      '-CAkey',
      `${signer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      ...extArgs,
    );
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  leaf('client', 'ca');
  leaf('stranger', 'other-ca');
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    ca: read('ca.crt'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    strangerCert: read('stranger.crt'),
    strangerKey: read('stranger.key'),
  };
}

function nodeJson(n: FakeNode) {
  return {
    metadata: { name: n.name, labels: n.labels },
    spec: n.unschedulable ? { unschedulable: true } : {},
    status: {
      allocatable: { ...n.allocatable, pods: '110' },
      conditions: [{ type: 'Ready', status: n.ready ? 'True' : 'False' }],
    },
  };
}

function otherPodJson(p: OtherPod) {
  return {
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: {
      nodeName: p.node,
      containers: p.containers.map((requests, i) => ({ name: `c${i}`, resources: { requests } })),
    },
    status: { phase: p.phase },
  };
}
