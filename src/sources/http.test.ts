import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import { errorOf, liveContext, readSignal } from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { atPath, splitPath } from './json-path.js';
import { createSource } from './registry.js';

test('json path: dotted keys, array indexes, escaped dots, and errors that show what is there', () => {
  const doc = { load: { value: 3 }, queues: [{ depth: 7 }, { depth: 9 }], 'a.b': { c: 1 } };
  const found: [string, unknown][] = [
    ['load.value', 3],
    ['queues.1.depth', 9],
    ['a\\.b.c', 1],
    ['load', { value: 3 }],
  ];
  for (const [path, value] of found) assert.deepEqual(atPath(doc, path), value, path);
  const missing: [string, string][] = [
    ['load.valu', 'path "load.valu" not found (keys at "load": value)'],
    ['queues.2.depth', 'path "queues.2" not found: "queues" is an array of 2'],
    ['queues.x', 'path "queues.x" not found: "queues" is an array of 2'],
    ['load.value.x', 'path "load.value.x" not found: "load.value" is not an object'],
  ];
  for (const [path, message] of missing) assert.throws(() => atPath(doc, path), { message }, path);
  assert.deepEqual(splitPath('a\\.b.c'), ['a.b', 'c']);
});

test('http: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'http', url: 'http://h' }, ['source.path: expected a dotted path like load.value']],
    [
      { type: 'http', url: 'http://h', path: 'a..b' },
      ['source.path: must be a dotted path like load.value, with no empty part'],
    ],
    [
      { type: 'http', url: 'file:///etc/passwd', path: 'a' },
      ['source.url: must be a http:// or https:// URL with a host'],
    ],
    [
      { type: 'http', url: 'http://h', path: 'a', followRedirects: 'yes' },
      ['source.followRedirects: expected true or false'],
    ],
  ];
  for (const [spec, problems] of cases) {
    await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.problems, problems);
      return true;
    });
  }
});

describe('http against a local HTTP server', () => {
  let server: Server;
  let base = '';
  let port = 0;
  let depth = 0;
  let total = 0;
  let lastHeaders: IncomingHttpHeaders = {};
  const routes: Record<string, () => [number, string, string?, string?]> = {
    '/queue': () => [200, JSON.stringify({ queue: { depth, total }, string: String(depth) })],
    '/garbage': () => [200, JSON.stringify({ queue: { depth: 'lots', list: [1], nothing: null } })],
    '/html': () => [200, '<html>hello</html>', 'text/html'],
    '/broken': () => [503, '{"error":"backend down"}'],
  };
  before(async () => {
    server = createServer((req, res) => {
      lastHeaders = req.headers;
      const route = routes[req.url ?? ''];
      const [status, body, type, location] = route ? route() : [404, 'not found', 'text/plain'];
      res.writeHead(status, {
        'content-type': type ?? 'application/json',
        ...(location === undefined ? {} : { location }),
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the value tracks the number at the path, and connections are reused across reads', async () => {
    const source = await createSource(
      { type: 'http', url: `${base}/queue`, path: 'queue.depth' },
      liveContext(),
    );
    const sockets = new Set<unknown>();
    const count = (socket: unknown) => sockets.add(socket);
    server.on('connection', count);
    try {
      const depths = [0, 17, 4, 250, 0, ...Array.from({ length: 15 }, (_, i) => i)];
      for (const d of depths) {
        depth = d;
        const r = await source.read(readSignal());
        assert.deepEqual(r.ok && r.reading.value, d);
      }
      // fetch's pool may open a second socket while the first is being released, but not one per read.
      assert.ok(sockets.size <= 2, `keep-alive: ${sockets.size} connections for ${depths.length} reads`);
    } finally {
      server.off('connection', count);
      await source.close();
    }
  });

  test('counterPath gives a rate; decimal strings count as numbers', async () => {
    const ctx = fakeContext();
    const source = await createSource(
      { type: 'http', url: `${base}/queue`, path: 'string', counterPath: 'queue.total' },
      ctx,
    );
    try {
      depth = 12;
      total = 100;
      const first = await source.read(readSignal());
      assert.deepEqual(first.ok && [first.reading.value, first.reading.rate], [12, undefined]);
      total = 160;
      ctx.clock.advance(2000);
      const second = await source.read(readSignal());
      assert.deepEqual(second.ok && [second.reading.value, second.reading.rate], [12, 30]);
    } finally {
      await source.close();
    }
  });

  test('garbage is a clear error, never a value', async () => {
    const cases: [string, string, RegExp][] = [
      ['/garbage', 'queue.depth', /value at "queue.depth" is "lots", not a number/],
      ['/garbage', 'queue.list', /value at "queue.list" is an array of 1, not a number/],
      ['/garbage', 'queue.nothing', /value at "queue.nothing" is null, not a number/],
      ['/garbage', 'queue.size', /path "queue.size" not found \(keys at "queue": depth, list, nothing\)/],
      ['/html', 'a', /response is not JSON \(text\/html\): "<html>hello<\/html>"/],
      ['/broken', 'a', /HTTP 503 Service Unavailable: \{"error":"backend down"\}/],
      ['/nowhere', 'a', /HTTP 404 Not Found: not found/],
    ];
    for (const [path, jsonPath, message] of cases) {
      const source = await createSource(
        { type: 'http', url: `${base}${path}`, path: jsonPath },
        liveContext(),
      );
      try {
        assert.match(errorOf(await source.read(readSignal())), message, `${path} ${jsonPath}`);
      } finally {
        await source.close();
      }
    }
  });

  test('credentials in the URL become a Basic header; headers are sent; neither shows in errors', async () => {
    const source = await createSource(
      {
        type: 'http',
        url: `http://scaler:${encodeURIComponent('s3cr3t/pass')}@127.0.0.1:${port}/garbage`,
        path: 'queue.depth',
        headers: { 'X-Api-Key': 'key-abc-123' },
      },
      liveContext(),
    );
    try {
      const error = errorOf(await source.read(readSignal()));
      assert.equal(
        lastHeaders.authorization,
        `Basic ${Buffer.from('scaler:s3cr3t/pass').toString('base64')}`,
      );
      assert.equal(lastHeaders['x-api-key'], 'key-abc-123');
      assert.match(error, /^http http:\/\/127\.0\.0\.1:\d+\/garbage: /);
      assert.ok(!/s3cr3t|key-abc-123/.test(error), error);
    } finally {
      await source.close();
    }
  });

  test('redirects: same origin keeps the headers; another origin is refused unless followRedirects, then gets none', async () => {
    // A second server is another origin (another port): what a redirect to a foreign host looks like.
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ queue: { depth: 99 } }));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherBase = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    routes['/same'] = () => [302, '', 'text/plain', '/queue'];
    routes['/away'] = () => [302, 'moved', 'text/plain', `${otherBase}/queue?token=abc`];
    routes['/file'] = () => [301, '', 'text/plain', 'data:application/json,{"queue":{"depth":5}}'];
    routes['/loop'] = () => [307, '', 'text/plain', '/loop'];
    const secrets = {
      url: `http://scaler:pw-9f8e7d@127.0.0.1:${port}`,
      headers: { 'X-Api-Key': 'key-abc-123', Cookie: 'session=c00kie' },
    };
    const readAt = async (path: string, extra: Record<string, unknown> = {}) => {
      const source = await createSource(
        {
          type: 'http',
          url: `${secrets.url}${path}`,
          path: 'queue.depth',
          headers: secrets.headers,
          ...extra,
        },
        liveContext(),
      );
      try {
        return await source.read(readSignal());
      } finally {
        await source.close();
      }
    };
    try {
      depth = 8;
      const same = await readAt('/same');
      assert.deepEqual(same.ok && same.reading.value, 8, JSON.stringify(same));
      assert.equal(lastHeaders['x-api-key'], 'key-abc-123', 'a same-origin hop keeps the headers');
      assert.ok(lastHeaders.authorization?.startsWith('Basic '));

      const refused = errorOf(await readAt('/away'));
      assert.match(
        refused,
        /HTTP 302 redirects to another origin, http:\/\/127\.0\.0\.1:\d+\/queue; not followed/,
      );
      assert.match(refused, /followRedirects: true/);
      assert.ok(!/abc|pw-9f8e7d|key-abc-123/.test(refused), refused);
      assert.equal(seen.length, 0, 'the other origin got no request at all');

      const followed = await readAt('/away', { followRedirects: true });
      assert.deepEqual(followed.ok && followed.reading.value, 99, JSON.stringify(followed));
      assert.equal(seen.length, 1);
      const sent = seen[0] ?? {};
      for (const name of ['x-api-key', 'cookie', 'authorization']) {
        assert.equal(sent[name], undefined, `${name} went to the other origin`);
      }

      const scheme = errorOf(await readAt('/file', { followRedirects: true }));
      assert.match(scheme, /HTTP 301 redirects to a data: URL; only http and https are followed/);
      assert.match(errorOf(await readAt('/loop')), /too many redirects \(more than 5\)/);
    } finally {
      for (const path of ['/same', '/away', '/file', '/loop']) delete routes[path];
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  connectionContract('http', {
    get serverPort() {
      return port;
    },
    build: (p, ctx, password) =>
      createSource(
        {
          type: 'http',
          url: `http://${password ? `u:${password}@` : ''}127.0.0.1:${p}/queue`,
          path: 'queue.depth',
        },
        ctx,
      ),
    healthy: () => true,
  });
});
