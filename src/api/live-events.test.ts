// GET /api/events, the dashboard's event stream, through the real HTTP server and a real controller.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { expectError, start } from '../../test/fixtures/api/live-server.js';
import { EventLog } from '../controller/index.js';
import { sseEventName } from './event-stream.js';
import { type ControllerAccess, startApiServer } from './server.js';

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
