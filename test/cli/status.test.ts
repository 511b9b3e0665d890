// `status` against what is not a microscaler instance: a clear message naming the URL, exit 1.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { run } from './harness.js';

let server: Server;
let base: string;
const answers: Record<string, { type: string; body: string; status?: number }> = {
  '/other/api/state': { type: 'application/json', body: '{"hello":"world"}' },
  '/html/api/state': { type: 'text/html', body: '<html><body>It works!</body></html>' },
  '/half/api/state': { type: 'application/json', body: '{"capacity":{"replicas":4},"services":[]}' },
  '/gone/api/state': { type: 'application/json', body: '{"error":"no such route"}', status: 404 },
};

before(async () => {
  server = createServer((req, res) => {
    const a = answers[req.url ?? ''] ?? { type: 'text/plain', body: 'nope', status: 404 };
    res.writeHead(a.status ?? 200, { 'content-type': a.type }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

/** A port that nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('status names the URL and what was wrong', () => {
  test('a server that answers other JSON', async () => {
    const r = await run(['status', '--url', `${base}/other`]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Cannot read properties/);
    assert.ok(r.stderr.includes(`${base}/other/api/state`), r.stderr);
    assert.match(r.stderr, /not a microscaler state: "capacity" is missing/);
  });

  test('JSON with a field missing', async () => {
    const r = await run(['status', '--url', `${base}/half`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /"capacity\.used" is missing, expected a number/);
  });

  test('a server that answers HTML', async () => {
    const r = await run(['status', '--url', `${base}/html`]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${base}/html/api/state answered something that is not JSON`), r.stderr);
  });

  test('an HTTP error says the status and the error it carries', async () => {
    const r = await run(['status', '--url', `${base}/gone`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /answered HTTP 404: no such route/);
  });

  test('a closed port', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await run(['status', '--url', url]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`cannot reach ${url}/api/state`), r.stderr);
    assert.match(r.stderr, /connection refused/);
    assert.match(r.stderr, /ECONNREFUSED/);
  });

  test('a URL that is not one: exit 1 with a message', async () => {
    const r = await run(['status', '--url', 'localhost:8080']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /expected an http:\/\/ or https:\/\/ URL/);
  });
});
