// The routes added for the dashboard and for operators: the event stream, /metrics, runtime changes and the
// dashboard's files, through the real HTTP server and a real controller (fake back-end, manual clock).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { flush, ManualClock } from '../../test/fakes/manual-clock.js';
import { Controller, EventLog } from '../controller/index.js';
import type { Source } from '../core/ports.js';
import type { ServicePolicy, SourceResult } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { sseEventName } from './event-stream.js';
import { type ApiServerOptions, type ControllerAccess, startApiServer } from './server.js';

const web: ServicePolicy = {
  name: 'web',
  priority: 1,
  min: 1,
  max: 19,
  rule: { type: 'target', perReplica: 10, activation: 0 },
  resources: { cpu: 0, memory: 0 },
  scaleDownWindowMs: 1000,
};
const batch: ServicePolicy = {
  ...web,
  name: 'batch',
  priority: 2,
  min: 0,
  max: 20,
  rule: { type: 'remainder' },
};

class ValueSource implements Source {
  value = 40;
  /** When set, reads fail with it. */
  failure: string | undefined;
  async read(): Promise<SourceResult> {
    if (this.failure !== undefined) return { ok: false, error: this.failure };
    return { ok: true, reading: { value: this.value, at: 0 } };
  }
  async close(): Promise<void> {}
}

type TestContext = { after(fn: () => Promise<void> | void): void };

/** A controller that moves only when tick() is called, and an API server in front of it. */
async function start(t: TestContext, options: Partial<ApiServerOptions> = {}) {
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const scheduler = new FakeScheduler(['web', 'batch']);
  scheduler.instant = true;
  const source = new ValueSource();
  const controller = new Controller({
    name: 'shop',
    capacity: { replicas: 20 },
    intervalMs: 100,
    readTimeoutMs: 1000,
    services: [web, batch],
    sources: new Map([['web', source]]),
    scheduler,
    clock,
    logger: silentLogger,
  });
  const server = await startApiServer({
    listen: '127.0.0.1:0',
    snapshot: () => controller.snapshot(),
    pushDemand() {},
    controller,
    stream: { heartbeatMs: 60_000, stateIntervalMs: 60_000 },
    ...options,
  });
  t.after(() => server.close());
  const tick = async () => {
    await controller.tick();
    await flush();
    scheduler.finishStops();
    await flush();
    await clock.advance(100);
  };
  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(server.url + path, { method, ...(body === undefined ? {} : { body }), headers });
  return { server, controller, source, scheduler, tick, send };
}

async function expectError(res: Response, status: number, pattern: RegExp) {
  const body = (await res.json()) as { error?: string };
  assert.equal(res.status, status, body.error);
  assert.match(body.error ?? '', pattern);
}

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** A raw SSE client: every message (and comment) as it arrives, parsed strictly. */
function openStream(url: string, headers: Record<string, string> = {}) {
  const messages: SseMessage[] = [];
  let buffer = '';
  let status = 0;
  let contentType = '';
  let closed = false;
  const req = request(url, { headers }, (res) => {
    status = res.statusCode ?? 0;
    contentType = String(res.headers['content-type']);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          else {
            const m = /^(id|event|data|retry): (.*)$/.exec(line);
            assert.ok(m, `not an SSE line: ${JSON.stringify(line)}`);
            message[m[1] as 'id'] = m[2];
          }
        }
        messages.push(message);
      }
    });
    res.on('close', () => {
      closed = true;
    });
  });
  req.on('error', () => {
    closed = true;
  });
  req.end();
  return {
    messages,
    get status() {
      return status;
    },
    get contentType() {
      return contentType;
    },
    get closed() {
      return closed;
    },
    events: () => messages.filter((m) => m.event !== undefined && m.event !== 'state'),
    close: () => req.destroy(),
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET /api/events', () => {
  test('sends the state and the history first, then live events, with ids and reasons', async (t) => {
    const { server, tick, source } = await start(t);
    await tick(); // web 0→4, batch 0→16
    const stream = openStream(`${server.url}/api/events`);
    t.after(() => stream.close());
    await until('the history', () => stream.events().length >= 4);
    assert.equal(stream.status, 200);
    assert.equal(stream.contentType, 'text/event-stream; charset=utf-8');
    assert.equal(stream.messages[0]?.retry, '1000');
    const first = stream.messages[1];
    assert.equal(first?.event, 'state');
    assert.deepEqual(
      JSON.parse(first?.data ?? '{}').services.map((s: { name: string }) => s.name),
      ['web', 'batch'],
    );
    const kinds = stream.events().map((m) => `${m.event} ${JSON.parse(m.data ?? '{}').service}`);
    assert.deepEqual(kinds, ['plan web', 'plan batch', 'start web', 'start batch']);
    for (const m of stream.events()) {
      assert.match(m.id ?? '', /^[0-9a-f]{8}\.\d+$/);
      assert.equal(sseEventName(JSON.parse(m.data ?? '{}').kind), m.event);
    }

    source.value = 120; // web 4→12 preempts batch
    await tick();
    await until('live events', () => stream.events().some((m) => m.event === 'preempt'));
    const preempt = JSON.parse(stream.events().find((m) => m.event === 'preempt')?.data ?? '{}');
    assert.equal(preempt.service, 'batch');
    assert.match(preempt.reason, /^preempted batch ×8 for web \(need 12\)/);
    // A state follows events at once (coalesced), so the dashboard need not wait for the interval.
    await until('a state after the events', () => stream.messages.slice(6).some((m) => m.event === 'state'));
  });

  test("a source error goes out as event: failure (never event: error, which is EventSource's own)", async (t) => {
    const { server, tick, source } = await start(t);
    await tick();
    const stream = openStream(`${server.url}/api/events`);
    t.after(() => stream.close());
    await until('the history', () => stream.events().length >= 4);
    source.failure = 'connection refused';
    await tick();
    source.failure = undefined;
    await tick();
    await until('recovered', () => stream.events().some((m) => m.event === 'recovered'));
    const failure = stream.events().find((m) => m.event === 'failure');
    assert.ok(failure, JSON.stringify(stream.events()));
    const data = JSON.parse(failure.data ?? '{}');
    assert.equal(data.kind, 'error');
    assert.equal(data.service, 'web');
    assert.match(data.message, /connection refused/);
    assert.deepEqual(
      stream.events().filter((m) => m.event === 'error'),
      [],
    );
  });

  test('heartbeats and periodic state keep the stream alive', async (t) => {
    const { server } = await start(t, { stream: { heartbeatMs: 30, stateIntervalMs: 40 } });
    const stream = openStream(`${server.url}/api/events`);
    t.after(() => stream.close());
    await until('heartbeats', () => stream.messages.filter((m) => m.comment === 'heartbeat').length >= 2);
    await until('states', () => stream.messages.filter((m) => m.event === 'state').length >= 3);
  });

  test('Last-Event-ID of this server resumes after it; of another server (a restart) replays the history', async (t) => {
    const { server, tick, source } = await start(t, { stream: { history: 3 } });
    await tick();
    source.value = 120;
    await tick();
    const all = openStream(`${server.url}/api/events`);
    t.after(() => all.close());
    await until('history', () => all.events().length === 3);
    const ids = all.events().map((m) => m.id ?? '');
    const [boot, n] = (ids[0] ?? '').split('.');
    const resumed = openStream(`${server.url}/api/events`, { 'Last-Event-ID': ids[1] ?? '' });
    const other = openStream(`${server.url}/api/events`, { 'Last-Event-ID': `ffffffff.${n}` });
    const junk = openStream(`${server.url}/api/events`, { 'Last-Event-ID': 'nonsense' });
    t.after(() => {
      for (const s of [resumed, other, junk]) s.close();
    });
    await until('streams', () =>
      [resumed, other, junk].every((s) => s.messages.some((m) => m.event === 'state')),
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      resumed.events().map((m) => m.id),
      [ids[2]],
    );
    assert.deepEqual(
      other.events().map((m) => m.id),
      ids,
    );
    assert.deepEqual(
      junk.events().map((m) => m.id),
      ids,
    );
    assert.ok(boot);
  });

  test('a client that does not read is disconnected; writing to it never waits', async (t) => {
    const log = new EventLog(10);
    const controller = { log, metrics: () => ({}) } as unknown as ControllerAccess;
    const snapshot = { time: '', name: 'x', capacity: { replicas: 1, used: 0 }, services: [] };
    const server = await startApiServer({
      listen: 0,
      snapshot: () => snapshot,
      pushDemand() {},
      controller,
      stream: { maxBufferedBytes: 64 * 1024, heartbeatMs: 60_000, stateIntervalMs: 60_000 },
    });
    t.after(() => server.close());
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    // Read the headers only, then stop reading.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause();
    const big = 'x'.repeat(256 * 1024);
    const started = Date.now();
    for (let i = 0; i < 400 && !closed; i++) {
      log.append({ kind: 'plan', time: '', message: big });
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(Date.now() - started < 5000, 'appending must not wait for the client');
    socket.resume(); // drain what the kernel holds, so that the close is seen
    socket.on('data', () => {});
    await until('the slow client to be dropped', () => closed, 10_000);
  });

  test('at most maxClients streams; HEAD answers headers only', async (t) => {
    const { server, send } = await start(t, { stream: { maxClients: 1 } });
    const one = openStream(`${server.url}/api/events`);
    t.after(() => one.close());
    await until('the first stream', () => one.messages.length > 0);
    const res = await send('GET', '/api/events');
    assert.equal(res.headers.get('retry-after'), '5');
    await expectError(res, 503, /too many event streams/);
    one.close();
    await until('the slot to free', () => one.closed);
    await new Promise((r) => setTimeout(r, 50));
    const head = await send('HEAD', '/api/events');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  });

  test('without a controller the stream is not available', async (t) => {
    const server = await startApiServer({ listen: 0, snapshot: () => ({}) as never, pushDemand() {} });
    t.after(() => server.close());
    await expectError(await fetch(`${server.url}/api/events`), 404, /no controller/);
  });
});

describe('runtime changes', () => {
  test('PATCH changes min, max, priority; the next plan uses them; GET shows the service', async (t) => {
    const { send, tick } = await start(t);
    await tick();
    const res = await send('PATCH', '/api/services/web', '{"max": 2, "priority": 1}');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; max: number; priority: number };
    assert.deepEqual([body.name, body.max, body.priority], ['web', 2, 1]);
    await tick();
    const web = (await (await send('GET', '/api/services/web')).json()) as { desired: number; max: number };
    assert.deepEqual([web.max, web.desired], [2, 2]);
    const state = (await (await send('GET', '/api/state')).json()) as { services: { desired: number }[] };
    assert.equal(state.services[1]?.desired, 18);
    await expectError(await send('GET', '/api/services/nope'), 404, /no service named "nope"/);
  });

  test('PATCH refuses bad bodies with 400 and a clear message, and changes nothing', async (t) => {
    const { send, controller } = await start(t);
    const cases: [string, RegExp][] = [
      ['not json', /not valid JSON/],
      ['[1]', /JSON object/],
      ['{}', /nothing to change/],
      ['{"maximum": 3}', /unknown field "maximum": only min, max and priority/],
      ['{"max": "3"}', /"max" must be an integer, not string/],
      ['{"max": null}', /"max" must be an integer, not null/],
      ['{"max": 2.5}', /max: expected an integer ≥ 0, got 2.5/],
      ['{"min": 5, "max": 3}', /min: min 5 must not exceed max 3/],
      ['{"priority": 0}', /priority: expected an integer ≥ 1/],
      ['{"max": 1e999}', /max: expected an integer ≥ 0/],
    ];
    for (const [body, pattern] of cases)
      await expectError(await send('PATCH', '/api/services/web', body), 400, pattern);
    await expectError(await send('PATCH', '/api/services/nope', '{"max": 1}'), 404, /no service named/);
    await expectError(
      await send('PATCH', '/api/services/Bad_Name', '{"max": 1}'),
      400,
      /invalid service name/,
    );
    const big = JSON.stringify({ max: 3, pad: 'x'.repeat(17 * 1024) });
    await expectError(await send('PATCH', '/api/services/web', big), 413, /larger than 16 KiB/);
    const web = controller.snapshot().services[0];
    assert.deepEqual([web?.min, web?.max, web?.priority], [1, 19, 1]);
  });

  test('pause and resume', async (t) => {
    const { send, tick, source } = await start(t);
    await tick();
    const paused = await send('POST', '/api/services/web/pause');
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as { paused?: boolean }).paused, true);
    source.value = 150;
    await tick();
    let web = (await (await send('GET', '/api/services/web')).json()) as {
      desired: number;
      paused?: boolean;
    };
    assert.deepEqual([web.desired, web.paused], [4, true]);
    assert.equal((await send('POST', '/api/services/web/resume', '')).status, 200);
    await tick();
    web = (await (await send('GET', '/api/services/web')).json()) as { desired: number; paused?: boolean };
    assert.deepEqual([web.desired, web.paused], [15, undefined]);
    await expectError(await send('POST', '/api/services/nope/pause'), 404, /no service named/);
    await expectError(await send('GET', '/api/services/web/pause'), 405, /GET is not allowed/);
    const big = 'x'.repeat(17 * 1024);
    await expectError(await send('POST', '/api/services/web/pause', big), 413, /larger than 16 KiB/);
  });

  test('auth: with a token every write needs it; without one on a non-loopback address writes are off', async (t) => {
    const withToken = await start(t, { token: 's3cret' });
    const auth = { authorization: 'Bearer s3cret' };
    for (const [method, path, body] of [
      ['PATCH', '/api/services/web', '{"max": 5}'],
      ['POST', '/api/services/web/pause', ''],
      ['POST', '/api/services/web/resume', ''],
    ] as const) {
      await expectError(await withToken.send(method, path, body), 401, /missing token/);
      await expectError(
        await withToken.send(method, path, body, { authorization: 'Bearer no' }),
        401,
        /wrong token/,
      );
      assert.equal((await withToken.send(method, path, body, auth)).status, 200, `${method} ${path}`);
    }
    // Reads stay open.
    assert.equal((await withToken.send('GET', '/metrics')).status, 200);
    assert.equal((await withToken.send('GET', '/api/services/web')).status, 200);

    const open = await start(t, { listen: '0.0.0.0:0' });
    await expectError(
      await open.send('PATCH', '/api/services/web', '{"max": 5}'),
      403,
      /changes are disabled/,
    );
    await expectError(await open.send('POST', '/api/services/web/pause'), 403, /changes are disabled/);
    await expectError(
      await open.send('POST', '/api/services/web/pause', '', { origin: 'https://evil.example' }),
      403,
      /changes are disabled/,
    );
    const local = await start(t);
    await expectError(
      await local.send('POST', '/api/services/web/pause', '', { origin: 'https://evil.example' }),
      403,
      /cross-origin/,
    );
  });
});

/** A strict parser of the Prometheus text format (0.0.4): every line is a comment, a sample or empty. */
function parsePrometheus(text: string) {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const families = new Map<
    string,
    { type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }
  >();
  const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    assert.notEqual(line, '', 'no empty lines');
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      const [, name = ''] = help;
      assert.match(name, metricName);
      assert.ok(!families.has(name), `${name}: one HELP per family`);
      families.set(name, { type: '', help: help[2] ?? '', samples: [] });
      current = name;
      continue;
    }
    if (type) {
      assert.equal(type[1], current, `TYPE of ${type[1]} right after its HELP`);
      (families.get(type[1] ?? '') as { type: string }).type = type[2] ?? '';
      continue;
    }
    assert.ok(!line.startsWith('#'), `unknown comment: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const [, name = '', , labelText = '', valueText = ''] = m;
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    for (let at = 0; at < labelText.length; ) {
      labelRe.lastIndex = at;
      const l = labelRe.exec(labelText);
      assert.ok(l, `bad labels in: ${line}`);
      labels[l[1] ?? ''] = l[2] ?? '';
      at = labelRe.lastIndex;
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    assert.ok(valueText === 'NaN' || !Number.isNaN(value), `bad value in: ${line}`);
    const family = families.get(current ?? '');
    assert.ok(family && current, `sample before any HELP: ${line}`);
    const suffixes = family.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    assert.ok(
      suffixes.some((s) => name === current + s),
      `${name} outside its family ${current}`,
    );
    family.samples.push({ name, labels, value });
  }
  return families;
}

describe('GET /metrics', () => {
  test('a scrape parses as Prometheus text and says what the controller did', async (t) => {
    const { send, tick, source } = await start(t);
    await tick();
    source.value = 120;
    await tick();
    await tick();
    const res = await send('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheus(await res.text());

    for (const [name, f] of families) {
      assert.match(name, /^microscaler_/);
      assert.ok(f.help.length > 0, `${name} has help`);
      if (f.type === 'counter') assert.match(name, /_total$/);
      else assert.doesNotMatch(name, /_total$/);
      if (f.type === 'histogram') {
        // Per label set: buckets ascending and cumulative, +Inf equal to _count.
        const sets = new Map<string, { le: number; value: number }[]>();
        for (const s of f.samples.filter((x) => x.name.endsWith('_bucket'))) {
          const { le = '', ...rest } = s.labels;
          const key = JSON.stringify(rest);
          sets.set(key, [
            ...(sets.get(key) ?? []),
            { le: le === '+Inf' ? Infinity : Number(le), value: s.value },
          ]);
        }
        assert.ok(sets.size > 0, `${name} has buckets`);
        for (const [key, buckets] of sets) {
          for (let i = 1; i < buckets.length; i++) {
            assert.ok((buckets[i]?.le ?? 0) > (buckets[i - 1]?.le ?? 0), `${name} le ascending`);
            assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), `${name} cumulative`);
          }
          const count = f.samples.find((x) => x.name === `${name}_count` && JSON.stringify(x.labels) === key);
          assert.equal(buckets.at(-1)?.le, Infinity);
          assert.equal(buckets.at(-1)?.value, count?.value);
        }
      }
    }
    const value = (sample: string, labels: Record<string, string> = {}) =>
      [...families.values()]
        .flatMap((f) => f.samples)
        .find((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('microscaler_capacity_replicas'), 20);
    assert.equal(value('microscaler_capacity_used_replicas'), 20);
    assert.equal(value('microscaler_service_need_replicas', { service: 'web' }), 12);
    assert.equal(value('microscaler_service_desired_replicas', { service: 'web' }), 12);
    assert.equal(value('microscaler_service_running_replicas', { service: 'web' }), 12);
    assert.equal(value('microscaler_service_running_replicas', { service: 'batch' }), 8);
    assert.equal(value('microscaler_source_value', { service: 'web' }), 120);
    assert.equal(value('microscaler_source_value', { service: 'batch' }), undefined, 'no value, no sample');
    assert.equal(value('microscaler_source_errors_total', { service: 'web' }), 0);
    assert.equal(
      value('microscaler_scale_actions_total', { service: 'web', direction: 'up', reason: 'demand' }),
      2,
    );
    assert.equal(
      value('microscaler_scale_actions_total', { service: 'batch', direction: 'down', reason: 'preemption' }),
      1,
    );
    assert.equal(value('microscaler_tick_duration_seconds_count'), 3);
    assert.ok((value('microscaler_time_to_desired_seconds_count', { service: 'web' }) ?? 0) >= 1);
    assert.equal(value('microscaler_info', { instance_name: 'shop' }), 1);
  });

  test('label values are escaped', async (t) => {
    const snapshot = {
      time: '',
      name: 'a "quoted"\\ name\nx',
      capacity: { replicas: 1, used: 0 },
      services: [],
    };
    const server = await startApiServer({ listen: 0, snapshot: () => snapshot, pushDemand() {} });
    t.after(() => server.close());
    const families = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    assert.equal(
      families.get('microscaler_info')?.samples[0]?.labels.instance_name,
      'a \\"quoted\\"\\\\ name\\nx',
    );
  });
});

describe('dashboard files', () => {
  test('GET / serves index.html with a strict CSP; files by name with ETags; nothing else from disk', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'microscaler-dash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'notes.txt'), 'secret');
    writeFileSync(join(dir, 'tsconfig.json'), '{}');
    const { server, send } = await start(t, { dashboardDir: dir });
    const page = await send('GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(await page.text(), '<!doctype html><title>x</title>');
    const js = await send('GET', '/app.js');
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const etag = js.headers.get('etag') ?? '';
    assert.equal((await send('GET', '/app.js', undefined, { 'if-none-match': etag })).status, 304);
    for (const path of ['/notes.txt', '/tsconfig.json', '/index.html', '/nope.js']) {
      await expectError(await send('GET', path), 404, /not found/);
    }
    // Paths that try to leave the folder never reach the disk.
    for (const path of ['/..%2Fpackage.json', '/%2e%2e/package.json', '/../package.json']) {
      const status = await new Promise<number>((resolve, reject) => {
        request(`${server.url}${path}`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      assert.equal(status, 404, path);
    }
  });

  test('without a dashboard folder / answers 404; a folder without index.html is refused at start', async (t) => {
    const { send } = await start(t);
    await expectError(await send('GET', '/'), 404, /no dashboard/);
    const dir = mkdtempSync(join(tmpdir(), 'microscaler-dash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await assert.rejects(
      startApiServer({ listen: 0, snapshot: () => ({}) as never, pushDemand() {}, dashboardDir: dir }),
      /holds no index.html/,
    );
  });
});
