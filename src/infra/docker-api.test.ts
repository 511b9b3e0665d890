import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DockerApi,
  DockerApiError,
  DockerUnreachableError,
  dockerEndpoint,
  JsonLines,
} from './docker-api.js';

const dir = mkdtempSync(join(tmpdir(), 'microscaler-docker-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('dockerEndpoint', () => {
  test('the local socket by default, or what DOCKER_HOST (or the setting) says', () => {
    assert.deepEqual(dockerEndpoint({}), { kind: 'unix', socketPath: '/var/run/docker.sock' });
    assert.deepEqual(dockerEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }), {
      kind: 'unix',
      socketPath: '/run/user/1000/docker.sock',
    });
    assert.deepEqual(dockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }), {
      kind: 'tcp',
      host: '10.0.0.5',
      port: 2375,
    });
    assert.deepEqual(dockerEndpoint({ DOCKER_HOST: 'tcp://a:1' }, 'unix:///x.sock'), {
      kind: 'unix',
      socketPath: '/x.sock',
    });
  });

  test('TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: verified against ca.pem, with the client certificate', () => {
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), `${f} contents`);
    const e = dockerEndpoint({
      DOCKER_HOST: 'tcp://docker.example:2376',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: dir,
    });
    assert.equal(e.kind, 'tcp');
    assert.ok(e.kind === 'tcp' && e.tls);
    assert.equal(e.tls.verify, true);
    assert.equal(e.tls.ca?.toString(), 'ca.pem contents');
    assert.equal(e.tls.cert?.toString(), 'cert.pem contents');
    // DOCKER_CERT_PATH alone: TLS without verifying the engine (as docker --tls), default port 2376.
    const loose = dockerEndpoint({ DOCKER_HOST: 'tcp://docker.example', DOCKER_CERT_PATH: dir });
    assert.ok(loose.kind === 'tcp' && loose.tls && !loose.tls.verify && loose.port === 2376);
    assert.throws(
      () =>
        dockerEndpoint({
          DOCKER_HOST: 'tcp://h:2376',
          DOCKER_TLS_VERIFY: '1',
          DOCKER_CERT_PATH: join(dir, 'none'),
        }),
      /DOCKER_CERT_PATH: cannot read .*ca\.pem/,
    );
  });

  test('a value it cannot use is a clear error', () => {
    assert.throws(
      () => dockerEndpoint({ DOCKER_HOST: 'ssh://me@host' }),
      /expected unix:\/\/\/path\/to\/docker.sock or tcp:\/\/host:port/,
    );
    assert.throws(() => dockerEndpoint({ DOCKER_HOST: 'unix://relative.sock' }), /absolute socket path/);
  });
});

test('JsonLines parses values split across chunks, one per line', () => {
  const seen: unknown[] = [];
  const lines = new JsonLines((v) => seen.push(v));
  lines.push('{"a":1}\n{"b"');
  lines.push(':2}\r\n\n{"c":');
  lines.push('3}');
  lines.end();
  assert.deepEqual(seen, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

/** A fake engine on a unix socket: answers /_ping with the given version, records the paths asked for. */
async function fakeEngine(
  version: string | undefined,
): Promise<{ socket: string; paths: string[]; server: Server }> {
  const socket = join(dir, `engine-${Math.random().toString(36).slice(2)}.sock`);
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url === '/_ping') {
      res.writeHead(200, version ? { 'API-Version': version } : {});
      res.end('OK');
    } else if (req.url?.endsWith('/events')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"Action":"start"}\n{"Act');
      setTimeout(() => res.end('ion":"die"}\n'), 10);
    } else if (req.url?.endsWith('/containers/missing/json')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"No such container: missing"}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }
  });
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  return { socket, paths, server };
}

describe('DockerApi against a fake engine', () => {
  test('negotiates the lower of the engine’s API version and its own', async () => {
    for (const [engine, used] of [
      ['1.41', '1.41'],
      ['1.50', '1.45'],
    ] as const) {
      const { socket, paths } = await fakeEngine(engine);
      const api = new DockerApi({ kind: 'unix', socketPath: socket });
      assert.deepEqual((await api.request('GET', '/info')).body, { ok: true });
      await api.request('GET', '/info');
      assert.deepEqual(paths, ['/_ping', `/v${used}/info`, `/v${used}/info`], 'pinged once');
      api.close();
    }
  });

  test('an engine too old is refused with the versions named', async () => {
    const { socket } = await fakeEngine('1.24');
    const api = new DockerApi({ kind: 'unix', socketPath: socket });
    await assert.rejects(api.request('GET', '/info'), /speaks API 1\.24; microscaler needs 1\.25 or later/);
    api.close();
  });

  test('error statuses carry the engine’s message; streams are parsed line by line', async () => {
    const { socket } = await fakeEngine('1.41');
    const api = new DockerApi({ kind: 'unix', socketPath: socket });
    await assert.rejects(api.request('GET', '/containers/missing/json'), (error: unknown) => {
      assert.ok(error instanceof DockerApiError);
      assert.equal(error.status, 404);
      assert.match(error.message, /404 No such container: missing/);
      return true;
    });
    const actions: unknown[] = [];
    let opened = false;
    await api.stream('GET', '/events', (v) => actions.push((v as { Action: string }).Action), {
      onOpen: () => {
        opened = true;
      },
    });
    assert.ok(opened);
    assert.deepEqual(actions, ['start', 'die']);
    api.close();
  });

  test('no engine at the socket is an unreachable error that says what to check', async () => {
    const api = new DockerApi({ kind: 'unix', socketPath: join(dir, 'nothing.sock') });
    await assert.rejects(api.request('GET', '/info'), (error: unknown) => {
      assert.ok(error instanceof DockerUnreachableError);
      assert.match(
        error.message,
        /cannot reach the docker engine at unix:\/\/.*nothing\.sock: .*ENOENT.*is dockerd running\?/,
      );
      return true;
    });
    api.close();
  });
});
