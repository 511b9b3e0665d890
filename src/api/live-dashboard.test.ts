// The dashboard's files: index.html with a strict CSP, files by name with ETags, nothing else from disk.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { expectError, start } from '../../test/fixtures/api/live-server.js';
import { startApiServer } from './server.js';

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
