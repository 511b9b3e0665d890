// A fake Marathon: the part of the REST API (https://mesosphere.github.io/marathon/api-console/index.html)
// the marathon back-end uses, written from the public documentation, not from a running Marathon.
//   GET /v2/apps/:id[?embed=app.tasks]  {app: {id, instances, labels, tasksRunning, tasksStaged,
//                                        tasksHealthy, tasksUnhealthy, healthChecks, version, deployments, tasks}}
//   PUT /v2/apps/:id {instances}        {version, deploymentId}; 409 while a deployment holds the app
// As Marathon does, a change starts a deployment that locks the app until its tasks have converged; a
// second PUT meanwhile is 409 "App is locked by one or more deployments". Unknown app: 404
// {"message": "App '/x' does not exist"}. Auth: 401 without the right Authorization header, 403 for a
// principal that may not update. Tasks being killed are listed with state TASK_KILLING until gone.
// Injectable: extra lock time, slow answers, one-off failures.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalServer, listenLocal } from './local-server.js';
import { readBody } from './nomad-api.js';
import { pause, ReplicaSet, type Timing } from './replica-set.js';

interface App {
  id: string;
  instances: number;
  labels: Record<string, string>;
  healthChecks: unknown[];
  version: string;
  deployment: string | undefined;
  replicas: ReplicaSet;
}

export class FakeMarathon {
  readonly apps = new Map<string, App>();
  /** The Authorization header required; undefined for none. */
  authorization: string | undefined;
  /** Authorization headers that are known but may not update (403). */
  readOnly = new Set<string>();
  /** Locks every app against updates until this time (ms since epoch), as an outside deployment would. */
  lockedUntil = 0;
  delayMs = 0;
  readonly failures: { method: string; path: RegExp; status: number; body: unknown }[] = [];
  readonly puts: { id: string; instances: number; status: number }[] = [];
  peakExisting = 0;
  private server: LocalServer | undefined;

  constructor(readonly timing: Timing = { startMs: 150, stopMs: 300 }) {}

  addApp(
    id: string,
    options: { instances?: number; labels?: Record<string, string>; healthChecks?: boolean } = {},
  ) {
    const app: App = {
      id,
      instances: options.instances ?? 0,
      labels: options.labels ?? {},
      healthChecks: options.healthChecks ? [{ protocol: 'COMMAND', command: { value: 'true' } }] : [],
      version: new Date().toISOString(),
      deployment: undefined,
      replicas: new ReplicaSet(this.timing, () => this.changed()),
    };
    this.apps.set(id, app);
    app.replicas.setDesired(app.instances);
  }

  app(id: string): App {
    const a = this.apps.get(id);
    if (!a) throw new Error(`fake marathon: no app ${id}`);
    return a;
  }

  existing(): number {
    let n = 0;
    for (const a of this.apps.values()) n += a.replicas.live().length;
    return n;
  }

  async start(): Promise<string> {
    this.server = await listenLocal((req, res) => this.handle(req, res));
    return this.server.url;
  }

  async close(): Promise<void> {
    for (const a of this.apps.values()) a.replicas.close();
    await this.server?.close();
  }

  private changed(): void {
    this.peakExisting = Math.max(this.peakExisting, this.existing());
    for (const a of this.apps.values()) {
      const tasks = a.replicas.tasks;
      const up = tasks.filter((t) => t.state === 'running').length;
      // A deployment finishes when the app has its instances running and nothing left to kill.
      if (
        a.deployment &&
        up === a.instances &&
        !tasks.some((t) => t.state === 'starting' || t.state === 'stopping')
      ) {
        a.deployment = undefined;
      }
      // Marathon replaces lost tasks.
      const active = tasks.filter((t) => t.state === 'starting' || t.state === 'running').length;
      if (active < a.instances) a.replicas.setDesired(a.instances);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    if (this.delayMs > 0) await pause(this.delayMs);
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    const failure = this.failures.findIndex((f) => f.method === req.method && f.path.test(url.pathname));
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      if (f) return void json(f.status, f.body);
    }
    const auth = req.headers.authorization;
    if (
      this.authorization !== undefined &&
      auth !== this.authorization &&
      !(auth && this.readOnly.has(auth))
    ) {
      return void json(401, { message: 'Invalid username or password.' });
    }
    if (!url.pathname.startsWith('/v2/apps/')) return void json(404, { message: 'Not found' });
    const id = decodeURIComponent(url.pathname.slice('/v2/apps'.length)).replace(/\/+$/, '');
    const app = this.apps.get(id);
    if (!app) return void json(404, { message: `App '${id}' does not exist` });

    if (req.method === 'GET') {
      const tasks = app.replicas.live();
      const running = tasks.filter((t) => t.state === 'running').length;
      const view: Record<string, unknown> = {
        id: app.id,
        instances: app.instances,
        labels: app.labels,
        healthChecks: app.healthChecks,
        version: app.version,
        tasksRunning: running,
        tasksStaged: tasks.filter((t) => t.state === 'starting').length,
        tasksHealthy: app.healthChecks.length ? running : 0,
        tasksUnhealthy: 0,
        deployments: app.deployment ? [{ id: app.deployment }] : [],
      };
      if ((url.searchParams.get('embed') ?? '').split(',').includes('app.tasks')) {
        view.tasks = tasks.map((t) => ({
          id: `${app.id.slice(1).replace(/\//g, '_')}.${t.id}`,
          appId: app.id,
          state:
            t.state === 'starting' ? 'TASK_STAGING' : t.state === 'running' ? 'TASK_RUNNING' : 'TASK_KILLING',
          stagedAt: new Date(t.createdAt).toISOString(),
        }));
      }
      return void json(200, { app: view });
    }
    if (req.method === 'PUT') {
      if (auth && this.readOnly.has(auth)) {
        return void json(403, { message: `Not Authorized to perform this action!` });
      }
      const update = JSON.parse(body || '{}') as { instances?: unknown };
      if (
        typeof update.instances !== 'number' ||
        update.instances < 0 ||
        !Number.isInteger(update.instances)
      ) {
        return void json(422, {
          message: 'Object is not valid',
          details: [{ path: '/instances', errors: ['must be >= 0'] }],
        });
      }
      const force = url.searchParams.get('force') === 'true';
      const lock = app.deployment ?? (Date.now() < this.lockedUntil ? 'outside-deployment' : undefined);
      if (lock && !force) {
        this.puts.push({ id, instances: update.instances, status: 409 });
        return void json(409, {
          message: `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`,
          deployments: [{ id: lock }],
        });
      }
      this.puts.push({ id, instances: update.instances, status: 200 });
      app.instances = update.instances;
      app.version = new Date().toISOString();
      const deploymentId = randomUUID();
      app.deployment = deploymentId;
      app.replicas.setDesired(update.instances); // may converge (and unlock) at once
      return void json(200, { version: app.version, deploymentId });
    }
    json(405, { message: 'HTTP 405 Method Not Allowed' });
  }
}
