import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import type { Snapshot } from '../core/types.js';
import { NotPushableError, UnknownServiceError } from './errors.js';
import { isLoopback, parseListen } from './listen-address.js';
import { type ApiServer, type ApiServerOptions, startApiServer } from './server.js';

const SNAPSHOT: Snapshot = {
  time: '2024-01-01T00:00:00.000Z',
  name: 'shop',
  capacity: { replicas: 20, used: 3 },
  services: [
    {
      name: 'web',
      priority: 1,
      min: 1,
      max: 18,
      value: 42,
      need: 5,
      desired: 3,
      running: 2,
      starting: 1,
      stopping: 0,
    },
    {
      name: 'batch',
      priority: 2,
      min: 0,
      max: 20,
      value: null,
      need: 0,
      desired: 0,
      running: 0,
      starting: 0,
      stopping: 0,
    },
  ],
};
const SOURCES: Record<string, string | undefined> = { web: 'push', batch: undefined, 'q-1': 'redis-list' };

/** Starts a server with a fake pushDemand that records what it accepted; closes it when the test ends. */
async function start(t: { after(fn: () => Promise<void>): void }, options: Partial<ApiServerOptions> = {}) {
  const pushed: [string, number][] = [];
  const server: ApiServer = await startApiServer({
    listen: '127.0.0.1:0',
    snapshot: () => SNAPSHOT,
    pushDemand(service, value) {
      if (!(service in SOURCES)) throw new UnknownServiceError(service);
      if (SOURCES[service] !== 'push') throw new NotPushableError(service, SOURCES[service]);
      pushed.push([service, value]);
    },
    ...options,
  });
  t.after(() => server.close());
  // Requests always go to 127.0.0.1: it is the listen address, not the request's, that decides about auth.
  const base = server.url.replace(/\/\/[^/]+:/, '//127.0.0.1:');
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(base + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { server, base, pushed, post };
}

async function expectError(res: Response, status: number, pattern: RegExp) {
  const body = (await res.json()) as { error?: string };
  assert.equal(res.status, status, body.error);
  assert.match(body.error ?? '', pattern);
}

test('GET /healthz answers ok with JSON, no-store headers', async (t) => {
  const { server } = await start(t);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await res.json(), { ok: true });
});

test('GET /api/state answers the snapshot; query strings are ignored', async (t) => {
  const { server } = await start(t);
  const res = await fetch(`${server.url}/api/state?x=1`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), SNAPSHOT);
});

test('HEAD on a GET route answers headers only', async (t) => {
  const { server } = await start(t);
  const res = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '');
});

test('POST demand sets the value of a push service', async (t) => {
  const { post, pushed } = await start(t);
  const res = await post('/api/services/web/demand', '{"value": 12.5}');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await res.json(), { service: 'web', value: 12.5 });
  const zero = await post('/api/services/web/demand', '{"value": 0}');
  assert.deepEqual(await zero.json(), { service: 'web', value: 0 });
  assert.deepEqual(pushed, [
    ['web', 12.5],
    ['web', 0],
  ]);
});

test('POST demand accepts a JSON body whatever its Content-Type', async (t) => {
  const { post } = await start(t);
  const res = await post('/api/services/web/demand', '{"value": 3}', {
    'content-type': 'application/x-www-form-urlencoded',
  });
  assert.equal(res.status, 200);
});

test('POST demand: percent-encoded names are decoded before validation', async (t) => {
  const { post, pushed } = await start(t);
  assert.equal((await post('/api/services/%77eb/demand', '{"value": 1}')).status, 200);
  assert.deepEqual(pushed, [['web', 1]]);
});

test('POST demand rejects bad bodies with 400 and a clear message', async (t) => {
  const { post, pushed } = await start(t);
  const cases: [string, RegExp][] = [
    ['not json', /not valid JSON/],
    ['', /not valid JSON/],
    ['{"value": 1', /not valid JSON/],
    ['[1]', /JSON object/],
    ['42', /JSON object/],
    ['null', /JSON object/],
    ['{}', /"value" is missing/],
    ['{"val": 1}', /unknown field "val"/],
    ['{"value": 1, "note": "x"}', /unknown field "note"/],
    ['{"value": 1, "value": 2}', /"value" is given twice/],
    ['{"value": -1}', /from 0 to/],
    ['{"value": "12"}', /must be a number, not string/],
    ['{"value": null}', /must be a number, not null/],
    ['{"value": "NaN"}', /must be a number/],
    ['{"value": 1e999}', /from 0 to .*Infinity/],
    ['{"value": -1e999}', /from 0 to/],
    ['{"value": 1e13}', /from 0 to/],
    ['{"value": [1]}', /must be a number/],
    ['{"value": true}', /must be a number/],
  ];
  for (const [body, pattern] of cases) {
    await expectError(await post('/api/services/web/demand', body), 400, pattern);
  }
  assert.deepEqual(pushed, []);
});

test('POST demand rejects invalid service names with 400', async (t) => {
  const { post } = await start(t);
  for (const name of ['Web', '-web', 'a'.repeat(64), 'web%2Fx', 'w%20b', '%E0%A4%A', 'we_b']) {
    await expectError(await post(`/api/services/${name}/demand`, '{"value": 1}'), 400, /service name/);
  }
  assert.equal((await post(`/api/services/${'a'.repeat(63)}/demand`, '{"value": 1}')).status, 404);
});

test('POST demand: unknown service 404, service without a push source 409', async (t) => {
  const { post } = await start(t);
  await expectError(await post('/api/services/nope/demand', '{"value": 1}'), 404, /no service named "nope"/);
  await expectError(
    await post('/api/services/batch/demand', '{"value": 1}'),
    409,
    /source is none, not "push"/,
  );
  await expectError(await post('/api/services/q-1/demand', '{"value": 1}'), 409, /"redis-list"/);
});

test('POST demand: a body over 16 KiB gets 413', async (t) => {
  const { post, pushed } = await start(t);
  const big = JSON.stringify({ value: 1, pad: 'x'.repeat(1024 * 1024) });
  await expectError(await post('/api/services/web/demand', big), 413, /larger than 16 KiB/);
  const justOver = JSON.stringify({ value: 1, pad: 'x'.repeat(16 * 1024) });
  await expectError(await post('/api/services/web/demand', justOver), 413, /larger than 16 KiB/);
  // only `value` is allowed: whitespace brings it near the limit
  const justUnder = `{"value": 1${' '.repeat(16 * 1024 - 30)}}`;
  assert.equal((await post('/api/services/web/demand', justUnder)).status, 200);
  assert.deepEqual(pushed, [['web', 1]]);
});

test('POST demand: a chunked body (no Content-Length) over 16 KiB gets 413 without reading it all', async (t) => {
  const { server } = await start(t);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${server.url}/api/services/web/demand`, { method: 'POST' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    // Keep sending until the server answers: it must not wait for the end of an endless body.
    const chunk = 'x'.repeat(4096);
    const timer = setInterval(() => req.write(chunk), 1);
    req.on('response', () => clearInterval(timer));
    req.on('close', () => clearInterval(timer));
  });
  assert.equal(status, 413);
  assert.match(body, /larger than 16 KiB/);
});

test('unknown route 404; wrong method 405 with Allow', async (t) => {
  const { server, post } = await start(t);
  await expectError(await fetch(`${server.url}/nope`), 404, /not found: \/nope/);
  await expectError(await fetch(`${server.url}/api/services/web/nope`), 404, /not found/);
  await expectError(await fetch(`${server.url}/healthz/`), 404, /not found/);

  const getDemand = await fetch(`${server.url}/api/services/web/demand`);
  assert.equal(getDemand.headers.get('allow'), 'POST');
  await expectError(getDemand, 405, /GET is not allowed/);

  const postState = await post('/api/state', '{}');
  assert.equal(postState.headers.get('allow'), 'GET, HEAD');
  await expectError(postState, 405, /POST is not allowed/);

  const deleteHealth = await fetch(`${server.url}/healthz`, { method: 'DELETE' });
  assert.equal(deleteHealth.status, 405);
  assert.equal(deleteHealth.headers.get('allow'), 'GET, HEAD');
});

test('errors other than the known ones become 500 without leaking their message', async (t) => {
  const { server, post } = await start(t, {
    snapshot: () => {
      throw new Error('secret detail');
    },
    pushDemand: async () => {
      throw new Error('secret detail');
    },
  });
  assert.deepEqual(await (await fetch(`${server.url}/api/state`)).json(), { error: 'internal error' });
  const res = await post('/api/services/web/demand', '{"value": 1}');
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), { error: 'internal error' });
});

test('loopback without a token: POST works without Authorization', async (t) => {
  const { post } = await start(t, { listen: '127.0.0.1:0' });
  assert.equal((await post('/api/services/web/demand', '{"value": 1}')).status, 200);
});

test('loopback with a token configured: the token is required', async (t) => {
  const { post } = await start(t, { listen: '127.0.0.1:0', token: 's3cret' });
  assert.equal((await post('/api/services/web/demand', '{"value": 1}')).status, 401);
  const ok = await post('/api/services/web/demand', '{"value": 1}', { authorization: 'Bearer s3cret' });
  assert.equal(ok.status, 200);
});

test('non-loopback listen with a token: 401 without or with a wrong token, 200 with the right one', async (t) => {
  const { post, base, server } = await start(t, { listen: '0.0.0.0:0', token: 's3cret' });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const path = '/api/services/web/demand';
  const missing = await post(path, '{"value": 1}');
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="microscaler"');
  await expectError(missing, 401, /missing token/);
  await expectError(await post(path, '{"value": 1}', { authorization: 'Bearer wrong' }), 401, /wrong token/);
  await expectError(await post(path, '{"value": 1}', { authorization: 'Bearer s3cre' }), 401, /wrong token/);
  await expectError(await post(path, '{"value": 1}', { authorization: 's3cret' }), 401, /missing token/);
  await expectError(
    await post(path, '{"value": 1}', { authorization: 'Basic czNjcmV0' }),
    401,
    /missing token/,
  );
  assert.equal((await post(path, '{"value": 1}', { authorization: 'Bearer s3cret' })).status, 200);
  assert.equal((await post(path, '{"value": 1}', { authorization: 'bearer s3cret' })).status, 200);
  // GET routes never need the token.
  assert.equal((await fetch(`${base}/api/state`)).status, 200);
});

test('non-loopback listen without a token: every POST is 403, GETs still work, a warning is logged', async (t) => {
  const logs: [string, string][] = [];
  const { post, base } = await start(t, {
    listen: '0.0.0.0:0',
    logger: { log: (level, message) => logs.push([level, message]) },
  });
  await expectError(await post('/api/services/web/demand', '{"value": 1}'), 403, /token must be configured/);
  await expectError(
    await post('/api/services/web/demand', '{"value": 1}', { authorization: 'Bearer anything' }),
    403,
    /token must be configured/,
  );
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.ok(logs.some(([level, message]) => level === 'warn' && /without a token/.test(message)));
});

test('an empty token counts as no token', async (t) => {
  const { post } = await start(t, { listen: '0.0.0.0:0', token: '' });
  assert.equal((await post('/api/services/web/demand', '{"value": 1}')).status, 403);
});

test('POSTs from another origin, or (on loopback) for a non-loopback Host, are refused', async (t) => {
  const { server } = await start(t);
  const port = new URL(server.url).port;
  const send = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/services/web/demand`, { method: 'POST', headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"value": 1}');
    });
  assert.equal(await send({ origin: 'https://evil.example' }), 403);
  assert.equal(await send({ origin: 'null' }), 403);
  assert.equal(await send({ host: `evil.example:${port}` }), 403);
  assert.equal(await send({ origin: `http://127.0.0.1:${port}` }), 200);
  assert.equal(await send({ host: `localhost:${port}`, origin: `http://localhost:${port}` }), 200);
});

test('close() ends keep-alive connections and is idempotent', async () => {
  const server = await startApiServer({ listen: 0, snapshot: () => SNAPSHOT, pushDemand() {} });
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200); // leaves a keep-alive connection open
  await Promise.all([server.close(), server.close()]);
  await assert.rejects(fetch(`${server.url}/healthz`));
});

test('startApiServer rejects when the port is taken, and on a malformed listen address', async (t) => {
  const { server } = await start(t);
  const taken = new URL(server.url).port;
  const base = { snapshot: () => SNAPSHOT, pushDemand() {} };
  await assert.rejects(startApiServer({ ...base, listen: `127.0.0.1:${taken}` }), /EADDRINUSE/);
  await assert.rejects(startApiServer({ ...base, listen: 'nonsense' }), /not a listen address/);
});

test('parseListen understands the documented forms', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseListen('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListen(':8080'), { host: undefined, port: 8080 });
  assert.deepEqual(parseListen('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen(0), { host: '127.0.0.1', port: 0 });
  for (const bad of ['', 'host', '::1:8080', '[nope]:80', '1.2.3.4:65536', '1.2.3.4:', -1, 1.5, 70000]) {
    assert.throws(() => parseListen(bad), /not a listen address/, String(bad));
  }
});

test('isLoopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) {
    assert.equal(isLoopback(h), true, h);
  }
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.example.com', '']) {
    assert.equal(isLoopback(h), false, h);
  }
});
