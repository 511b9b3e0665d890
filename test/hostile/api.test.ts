// Hostile HTTP clients against a real API server: random methods, paths and bodies through node:http,
// malformed requests through raw sockets, oversized and endless bodies, slow clients, and requests from a
// non-loopback address with and without the token. Every answer must be a 4xx with a JSON error (or a 2xx
// for what is valid), never a 5xx, and /healthz must answer after every case.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startApiServer } from '../../src/api/server.js';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import type { Snapshot } from '../../src/core/types.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** One request through node:http; the body is sent as given (string or Buffer). */
function send(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path.slice(0, 80)}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The whole raw answer to raw bytes, until the server closes (or gives up waiting). */
function raw(port: number, data: string | Buffer, host = '127.0.0.1', waitMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let out = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => {
      out += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(data);
  });
}

/** A clear refusal: a 4xx whose body is JSON with a non-empty `error` (HEAD answers carry no body). */
function assertClearError(answer: Answer, what: string, method = 'GET'): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `${what}: ${answer.status} ${answer.body}`);
  if (method === 'HEAD') return;
  assert.match(String(answer.headers['content-type']), /^application\/json/, what);
  const parsed = JSON.parse(answer.body) as { error?: unknown };
  assert.equal(typeof parsed.error, 'string', what);
  assert.ok((parsed.error as string).length > 0 && !(parsed.error as string).includes('[object'), what);
}

/** Status and JSON error of a raw HTTP answer. */
function parseRaw(text: string): { status: number; error: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  let error = '';
  try {
    error = String((JSON.parse(body) as { error?: unknown }).error ?? '');
  } catch {
    // not JSON: left empty, which fails the caller's check
  }
  return { status, error };
}

async function healthy(base: string): Promise<void> {
  const answer = await send(base, 'GET', '/healthz');
  assert.equal(answer.status, 200, `healthz: ${answer.status} ${answer.body}`);
}

describe('a running instance under hostile requests', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-hostile-api-'));
  let instance: Instance | undefined;
  let base = '';
  let port = 0;

  before(async () => {
    const config = parseConfig(
      `
name: hostile-api
capacity: { replicas: 1 }
interval: 100ms
scheduler: { type: process, stateDir: ${JSON.stringify(stateDir)} }
services:
  web:
    max: 0
    run: { command: [sleep, "3600"] }
    demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 1000 } }
  pushed:
    priority: 2
    max: 0
    run: { command: [sleep, "3600"] }
    demand: { source: { type: push }, rule: { type: target, perReplica: 1000 } }
  fill:
    priority: 3
    max: 0
    run: { command: [sleep, "3600"] }
    demand: { rule: { type: remainder } }
`,
      { file: 'hostile-api.yaml', sourceSchemas, schedulerSchemas, env: {} },
    );
    instance = await startInstance({
      config,
      clock: systemClock,
      logger: silentLogger,
      baseDir: process.cwd(),
      listen: '127.0.0.1:0',
      overridable: ['web'],
      env: {},
    });
    base = instance.api?.url ?? '';
    port = Number(new URL(base).port);
  });
  after(async () => {
    await instance?.close({ drain: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  const NAMES = [
    'web',
    'pushed',
    'nope',
    '..',
    '..%2f..%2fetc%2fpasswd',
    '..%2F..%2F',
    '%2e%2e',
    '%00',
    'web%00',
    '%ZZ',
    '%',
    '%E2%80%AE',
    '%F0%9F%9A%80',
    'a%3Brm%20-rf%20x',
    '%24(touch%20x)',
    'WEB',
    'a'.repeat(10_000),
    '%2e%2e%5c%2e%2e%5c',
  ];
  const ROUTES = [
    (n: string) => `/api/services/${n}/demand`,
    (n: string) => `/api/services/${n}`,
    (n: string) => `/api/services/${n}/pause`,
    (n: string) => `/api/services/${n}/resume`,
    (n: string) => `/${n}`,
    (n: string) => `/api/${n}`,
    (n: string) => `/api/state/${n}`,
    (n: string) => `/healthz/${n}`,
    (n: string) => `/metrics?${n}`,
    (n: string) => `//api/services/${n}/demand`,
    (n: string) => `/api/services/${n}/demand/`,
  ];
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const BODIES: readonly (string | Buffer)[] = [
    '',
    '{',
    '{"value": }',
    'null',
    '[]',
    '"value"',
    '{"value": 1e308}',
    '{"value": 1e999}',
    '{"value": -1}',
    '{"value": -0}',
    '{"value": 0.5}',
    '{"value": 9007199254740993}',
    '{"value": "42"}',
    '{"value": null}',
    '{"value": [1]}',
    '{"value": {"value": 1}}',
    '{"value": 1, "value": "x"}',
    '{"__proto__": {"value": 1}}',
    '{"min": -1}',
    '{"min": 1.5, "max": 1e308}',
    '{"max": 2, "priority": 0}',
    '{"priority": "1"}',
    '{"min": 5, "max": 2}',
    '{"min": 0}',
    '{"constructor": {"prototype": {"x": 1}}}',
    deep(7_000),
    `{"a":${deep(5_000)}}`,
    Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    '\u0000',
    `{"value": 1, "pad": "${'é'.repeat(5_000)}"}`,
    `{"value": 1, "pad": "${'x'.repeat(17 * 1024)}"}`,
  ];
  const METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'X-FUZZ'];
  const CONTENT_TYPES = [
    undefined,
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    'ü/ü',
  ];

  test('random methods, paths, bodies and content types: 2xx or a clear 4xx, and the server keeps serving', async () => {
    const body = fc.oneof(
      fc.constantFrom(...BODIES),
      fc.json({ maxDepth: 4 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .record({ value: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null)) })
        .map((v) => JSON.stringify(v)),
      fc
        .record(
          { min: fc.double(), max: fc.integer(), priority: fc.oneof(fc.integer(), fc.string()) },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    const cases = fc.record({
      method: fc.constantFrom(...METHODS),
      route: fc.constantFrom(...ROUTES),
      name: fc.oneof(
        fc.constantFrom(...NAMES),
        fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
      ),
      body: fc.option(body, { nil: undefined }),
      contentType: fc.constantFrom(...CONTENT_TYPES),
    });
    await fc.assert(
      fc.asyncProperty(cases, async ({ method, route, name, body, contentType }) => {
        const path = route(name);
        const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
        // GET and HEAD with a body are legal HTTP; node:http sends it chunked.
        const answer = await send(base, method, path, body, headers);
        const what = `${method} ${path.slice(0, 100)} ${String(body).slice(0, 60)}`;
        if (answer.status >= 300) assertClearError(answer, what, method);
        else assert.ok(answer.status >= 200, what);
        await healthy(base);
      }),
      { numRuns: 250 },
    );
  });

  test('every mutating route refuses every bad body with a clear 400 (or 413)', async () => {
    for (const path of ['/api/services/pushed/demand', '/api/services/web/demand', '/api/services/web']) {
      const method = path.endsWith('demand') ? 'POST' : 'PATCH';
      for (const body of BODIES) {
        const answer = await send(base, method, path, body);
        const what = `${method} ${path} ${String(body).slice(0, 60)}`;
        // The only valid ones: -0 is 0, and demand need not be whole. A field besides `value` is refused
        // (docs/api.md), so the padded body is a bad one too.
        const fine =
          method === 'PATCH' ? body === '{"min": 0}' : body === '{"value": -0}' || body === '{"value": 0.5}';
        if (fine) {
          assert.equal(answer.status, 200, `${what}: ${answer.body}`);
        } else {
          assertClearError(answer, what);
          assert.ok([400, 413].includes(answer.status), `${what}: ${answer.status}`);
        }
      }
      await healthy(base);
    }
  });

  test('hostile service names are refused and reach neither a path nor a shell', async () => {
    const tag = `microscaler-hostile-${randomUUID().slice(0, 8)}`;
    const outside = join(tmpdir(), tag);
    const before = new Set(readdirSync(tmpdir()));
    const names = [
      `../../${tag}`,
      `../${tag}`,
      `/tmp/${tag}`,
      `a;touch ${outside}`,
      `$(touch ${outside})`,
      `\`touch ${outside}\``,
      `x\u0000${tag}`,
      `wéb-${tag}`,
      `${tag}\u202e`,
    ];
    for (const name of names) {
      for (const encoded of [encodeURIComponent(name), encodeURIComponent(name).replace(/%2F/g, '/')]) {
        for (const [method, suffix, body] of [
          ['POST', '/demand', '{"value": 1}'],
          ['PATCH', '', '{"min": 0}'],
          ['POST', '/pause', ''],
          ['POST', '/resume', ''],
          ['GET', '', undefined],
        ] as const) {
          const answer = await send(base, method, `/api/services/${encoded}${suffix}`, body);
          assertClearError(answer, `${method} ${name}${suffix}`);
          // 400 invalid name, 404 unknown service, or (with a bare `/` in it) no such route: 404 or 405.
          assert.ok([400, 404, 405].includes(answer.status), `${method} ${name}: ${answer.status}`);
        }
      }
    }
    assert.equal(existsSync(outside), false, `${outside} was created`);
    const created = readdirSync(tmpdir()).filter((entry) => !before.has(entry) && entry.includes(tag));
    assert.deepEqual(created, []);
    // In the state folder: only what the process back-end keeps there, nothing named after a request.
    const inside = readdirSync(stateDir, { recursive: true }).map(String);
    assert.deepEqual(
      inside.filter((p) => p.includes(tag)),
      [],
    );
    assert.ok(
      inside.every((p) => /^(replicas|logs)(\/|$)/.test(p)),
      inside.join(', '),
    );
    await healthy(base);
  });

  test('malformed HTTP (raw sockets): a 4xx with a JSON error, and the server keeps serving', async () => {
    const cases: Array<[string, string | Buffer, number]> = [
      ['unknown method', 'FUZZ / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400],
      ['NUL in the path', 'GET /api/services/a\0b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400],
      [
        'raw UTF-8 in the path',
        Buffer.concat([
          Buffer.from('GET /api/services/'),
          Buffer.from('wéb🚀'),
          Buffer.from(' HTTP/1.1\r\n\r\n'),
        ]),
        400,
      ],
      ['garbage', '\x00\x01\x02\xff garbage\r\n\r\n', 400],
      ['a header of 100 KB', `GET /healthz HTTP/1.1\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`, 431],
      ['10,000 headers', `GET /healthz HTTP/1.1\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`, 431],
      [
        'a Content-Length that is not a number',
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n',
        400,
      ],
      [
        'a negative Content-Length',
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n',
        400,
      ],
      [
        'two different Content-Lengths',
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n{}',
        400,
      ],
      [
        'Content-Length and chunked',
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'a bad chunk size',
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
        400,
      ],
      [
        'a Content-Length of a terabyte',
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1099511627776\r\n\r\n{',
        413,
      ],
      ['a bad HTTP version', 'GET /healthz HTTP/9.9\r\n\r\n', 400],
      ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', 400],
      ['a path of 60 KB', `GET /api/services/${'a'.repeat(60_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 431],
    ];
    for (const [what, data, expected] of cases) {
      const { status, error } = parseRaw(await raw(port, data));
      assert.equal(status, expected, what);
      assert.ok(error.length > 0, `${what}: no JSON error`);
      await healthy(base);
    }
  });

  test('an endless body is cut off with 413, not read into memory', async () => {
    const rssBefore = process.memoryUsage().rss;
    const { sent, answer } = await new Promise<{ sent: number; answer: string }>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let sent = 0;
      let answer = '';
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const frame = Buffer.concat([
        Buffer.from(`${chunk.length.toString(16)}\r\n`),
        chunk,
        Buffer.from('\r\n'),
      ]);
      socket.write(
        'POST /api/services/pushed/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      // Writes as fast as the server takes them, 256 MB at most, and never stops on its own before that.
      const pump = () => {
        while (!socket.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!socket.write(frame)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      socket.on('data', (d) => {
        answer += d;
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve({ sent, answer }));
      pump();
    });
    const { status, error } = parseRaw(answer);
    assert.equal(status, 413);
    assert.match(error, /larger than 16 KiB/);
    // The server closed the connection long before the client was done: it does not read on.
    assert.ok(sent < 64 * 1024 * 1024, `the client sent ${sent} bytes before the server hung up`);
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory grew by more than 64 MB');
    await healthy(base);
  });

  test('a thousand bad requests later, memory has not ballooned', async () => {
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) {
      const answer = await send(base, 'POST', '/api/services/pushed/demand', `{"value": ${'['.repeat(8000)}`);
      assert.equal(answer.status, 400);
    }
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory grew by more than 64 MB');
    await healthy(base);
  });
});

describe('slow clients (slowloris)', () => {
  const SNAPSHOT: Snapshot = { time: '', name: 'x', capacity: { replicas: 1, used: 0 }, services: [] };

  test('headers or a body that never finish are answered 408 and cut off; others are served meanwhile', async (t) => {
    // Short timeouts here; the defaults (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS) are 10 s and 15 s.
    const server = await startApiServer({
      listen: '127.0.0.1:0',
      snapshot: () => SNAPSHOT,
      pushDemand() {},
      timeouts: { headersMs: 500, requestMs: 1000 },
    });
    t.after(() => server.close());
    const port = Number(new URL(server.url).port);
    const slow = (first: string, trickle: string) =>
      new Promise<{ answer: string; ms: number }>((resolve) => {
        const started = performance.now();
        const socket = connect(port, '127.0.0.1');
        let answer = '';
        socket.write(first);
        // One byte every 100 ms, for ever: each byte arrives well within any idle timeout.
        const timer = setInterval(() => socket.write(trickle), 100);
        socket.on('data', (d) => {
          answer += d;
        });
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(timer);
          resolve({ answer, ms: performance.now() - started });
        });
        // A hang fails the test instead of the suite.
        setTimeout(() => socket.destroy(), 20_000).unref();
      });
    const results = await Promise.all([
      slow('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X'),
      slow('POST /api/services/web/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{', ' '),
      slow(
        'POST /api/services/web/demand HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n',
        '1\r\n \r\n',
      ),
      (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await healthy(server.url);
        return undefined;
      })(),
    ]);
    for (const result of results) {
      if (!result) continue;
      const { status, error } = parseRaw(result.answer);
      assert.equal(status, 408, result.answer);
      assert.match(error, /did not arrive in time/);
      // Cut off at about the 1 s request timeout (Node checks every 500 ms here); far less than 20 s.
      assert.ok(result.ms < 10_000, `closed after ${result.ms} ms`);
    }
    await healthy(server.url);
  });
});

describe('who may change things', () => {
  const SNAPSHOT: Snapshot = { time: '', name: 'x', capacity: { replicas: 1, used: 0 }, services: [] };
  /** An IPv4 address of this machine that is not loopback: requests from it are not from loopback. */
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  async function server(t: { after(fn: () => Promise<void>): void }, listen: string, token?: string) {
    const pushed: number[] = [];
    const s = await startApiServer({
      listen,
      snapshot: () => SNAPSHOT,
      pushDemand(_service, value) {
        pushed.push(value);
      },
      ...(token ? { token } : {}),
    });
    t.after(() => s.close());
    return { port: Number(new URL(s.url).port), pushed };
  }

  const push = (host: string, port: number, headers: Record<string, string> = {}) =>
    send(`http://${host}:${port}`, 'POST', '/api/services/web/demand', '{"value": 3}', headers);

  test('from a non-loopback address: refused without the right token (401), accepted with it', {
    skip: external ? false : 'this machine has no non-loopback IPv4 address',
  }, async (t) => {
    const host = external as string;
    const token = `t-${randomUUID()}`;
    const { port, pushed } = await server(t, '0.0.0.0:0', token);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${token.slice(0, -1)}` },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${'x'.repeat(8000)}` },
      { authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` },
      { authorization: `${token}` },
    ];
    for (const headers of attempts) {
      const answer = await push(host, port, headers);
      assertClearError(answer, JSON.stringify(headers).slice(0, 80));
      assert.equal(answer.status, 401, JSON.stringify(headers).slice(0, 80));
    }
    for (const [method, path, body] of [
      ['PATCH', '/api/services/web', '{"min": 1}'],
      ['POST', '/api/services/web/pause', ''],
      ['POST', '/api/services/web/resume', ''],
    ] as const) {
      assert.equal(
        (await send(`http://${host}:${port}`, method, path, body)).status,
        401,
        `${method} ${path}`,
      );
    }
    assert.deepEqual(pushed, []);
    assert.equal((await push(host, port, { authorization: `Bearer ${token}` })).status, 200);
    assert.deepEqual(pushed, [3]);
    // Reading needs no token.
    assert.equal((await send(`http://${host}:${port}`, 'GET', '/api/state')).status, 200);
  });

  test('listening on every interface without a token: every change is refused (403), from anywhere', {
    skip: external ? false : 'this machine has no non-loopback IPv4 address',
  }, async (t) => {
    const { port, pushed } = await server(t, '0.0.0.0:0');
    for (const host of [external as string, '127.0.0.1']) {
      const answer = await push(host, port, { authorization: 'Bearer anything' });
      assertClearError(answer, host);
      assert.equal(answer.status, 403, host);
    }
    assert.deepEqual(pushed, []);
  });

  test('on loopback without a token: accepted, and the other addresses cannot even connect', async (t) => {
    const { port, pushed } = await server(t, '127.0.0.1:0');
    assert.equal((await push('127.0.0.1', port)).status, 200);
    assert.deepEqual(pushed, [3]);
    if (external) await assert.rejects(push(external, port), /ECONNREFUSED/);
  });
});
