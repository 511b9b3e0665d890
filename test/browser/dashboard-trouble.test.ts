// The dashboard in a real browser (Debian's Chromium) when things go wrong: a failing source, a server that
// goes away, the server's limit of event streams, a narrow window, a server that wants a token. A real demo
// instance (real HTTP server, controller and `sleep` replicas) with one more service whose http source
// points at a closed port, and an API token.
import assert from 'node:assert/strict';
import { type ClientRequest, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServiceSpec } from '../../src/core/types.js';
import { type Demo, launchBrowser, missingBrowser, startDemo } from './harness.js';

const skip = missingBrowser();
const TOKEN = `token-${process.pid}-${Date.now()}`;

// The little of the DOM that the functions run in the page touch (the project compiles without the DOM lib).
interface Box {
  readonly left: number;
  readonly right: number;
}
interface DomNode {
  readonly textContent: string | null;
  readonly className: string;
  readonly scrollWidth: number;
  getBoundingClientRect(): Box;
}
declare const document: {
  getElementById(id: string): DomNode | null;
  querySelector(selector: string): DomNode | null;
  readonly documentElement: { readonly scrollWidth: number };
};
declare const window: { connectionSeen: string[] };

/** A port nothing listens on: one the kernel just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A service of the demo's kind whose source always fails: connection refused. */
function flaky(like: ServiceSpec, port: number): ServiceSpec {
  const { warm: _warm, preempt: _preempt, ...rest } = like;
  return {
    ...rest,
    name: 'flaky',
    priority: 3,
    min: 0,
    max: 1,
    rule: { type: 'target', perReplica: 10, activation: 0 },
    source: { type: 'http', url: `http://127.0.0.1:${port}/`, path: 'value' },
  };
}

describe('dashboard in Chromium, when things go wrong', { skip }, () => {
  let browser: Browser;
  let demo: Demo;
  const pages: Page[] = [];

  before(async () => {
    const port = await closedPort();
    [browser, demo] = await Promise.all([
      launchBrowser(),
      startDemo(5, {
        token: TOKEN,
        configure: (config) => ({
          ...config,
          services: [...config.services, flaky(config.services[0] as ServiceSpec, port)],
        }),
      }),
    ]);
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  /** A new page; its uncaught errors go to `errors`. */
  async function open(width = 1280): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    // Every text the connection badge shows, from the start: a flip to "reconnecting…" may last one frame.
    // (A string: tsx would wrap a function's inner functions in a helper that the page does not have.)
    await page.addInitScript(`
      window.connectionSeen = [];
      document.addEventListener('DOMContentLoaded', () => {
        const badge = document.getElementById('connection');
        new MutationObserver(() => window.connectionSeen.push(badge.textContent ?? ''))
          .observe(badge, { childList: true, characterData: true, subtree: true });
      });
    `);
    await page.goto(demo.url);
    return { page, errors };
  }

  test('a source error: listed as an error event, no page error, the header stays live', async () => {
    const { page, errors } = await open();
    await page.waitForSelector('.connection.live', { timeout: 15_000 });
    await page.waitForSelector('#events li.kind-error', { timeout: 15_000 });
    assert.match((await page.textContent('#events li.kind-error .message')) ?? '', /flaky/);
    await page.waitForFunction(
      () =>
        /connect|refused|ECONNREFUSED/i.test(
          document.querySelector('#services tbody tr[data-service="flaky"] td.reason')?.textContent ?? '',
        ),
      undefined,
      { timeout: 15_000 },
    );
    // A few more state messages, and whatever the stream sends meanwhile.
    await page.waitForTimeout(1500);
    const seen = await page.evaluate(() => window.connectionSeen);
    const live = seen.indexOf('live');
    assert.ok(live >= 0, `never live: ${seen}`);
    assert.deepEqual(
      seen.slice(live).filter((text) => text !== 'live'),
      [],
      `the header left "live": ${seen.join(' → ')}`,
    );
    assert.equal(await page.textContent('#connection'), 'live');
    assert.deepEqual(errors, []);
  });

  test('the stream failing (the server goes away and comes back) raises no page error', async () => {
    const { page, errors } = await open();
    await page.waitForSelector('.connection.live', { timeout: 15_000 });
    await demo.stop();
    await page.waitForSelector('.connection.connecting', { timeout: 10_000 });
    await page.waitForTimeout(1500); // the browser's own retries fail meanwhile
    await demo.start();
    await page.waitForSelector('.connection.live', { timeout: 20_000 });
    assert.deepEqual(errors, []);
  });

  test('at the limit of event streams: a clear message and the state meanwhile; live once a stream is free', async () => {
    // Take every stream the server has left.
    const held: ClientRequest[] = [];
    const refused = await (async () => {
      for (let i = 0; i < 200; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = get(`${demo.url}/api/events`, (res) => {
            resolve(res.statusCode ?? 0);
            if (res.statusCode !== 200) res.resume();
          });
          req.on('error', reject);
          held.push(req);
        });
        if (status === 503) return true;
      }
      return false;
    })();
    try {
      assert.ok(refused, 'the server never refused a stream');
      const { page, errors } = await open();
      await page.waitForSelector('#stream-error:not([hidden])', { timeout: 15_000 });
      assert.match(
        (await page.textContent('#stream-error')) ?? '',
        /live updates are unavailable: too many event streams are open; try again later \(HTTP 503\)/,
      );
      // Not a blank page: the services, from GET /api/state.
      await page.waitForSelector('#services tbody tr[data-service="batch"]', { timeout: 15_000 });
      assert.equal(await page.textContent('#connection'), 'reconnecting…');
      for (const req of held.splice(0)) req.destroy();
      await page.waitForSelector('.connection.live', { timeout: 20_000 });
      await page.waitForSelector('#stream-error[hidden]', { state: 'attached', timeout: 5000 });
      assert.deepEqual(errors, []);
    } finally {
      for (const req of held) req.destroy();
    }
  });

  test('the services table fits its panel in a narrow window, and stays inside it in a very narrow one', async () => {
    for (const width of [1280, 1000, 640, 360]) {
      const { page } = await open(width);
      await page.waitForSelector('#services tbody tr[data-service="flaky"]', { timeout: 15_000 });
      await page.waitForTimeout(600); // reasons filled in
      const m = await page.evaluate(() => {
        const table = document.getElementById('services') as DomNode;
        const panel = document.querySelector('.table-panel') as DomNode;
        const scroller = (document.querySelector('.table-scroll') ?? panel) as DomNode;
        return {
          table: table.getBoundingClientRect().right,
          scroller: scroller.getBoundingClientRect().right,
          panel: panel.getBoundingClientRect().right,
          page: document.documentElement.scrollWidth,
        };
      });
      const what = `at ${width} px: ${JSON.stringify(m)}`;
      assert.ok(m.page <= width, `the page is wider than the window ${what}`);
      assert.ok(m.scroller <= m.panel, `the table's box leaves its panel ${what}`);
      // Down to 640 px the whole table shows; below, it scrolls inside its panel.
      if (width >= 640) assert.ok(m.table <= m.scroller + 0.5, `the table is wider than its panel ${what}`);
      await page.close();
    }
  });

  test('a change refused for want of a token is made once the token is entered', async () => {
    const { page, errors } = await open();
    const paused = async () => {
      const state = (await (await fetch(`${demo.url}/api/state`)).json()) as {
        services: { name: string; paused?: boolean }[];
      };
      return state.services.find((s) => s.name === 'batch')?.paused === true;
    };
    assert.equal(await paused(), false);
    await page.click('#services tbody tr[data-service="batch"] button.pause', { timeout: 15_000 });
    await page.waitForSelector('#token-form:not([hidden])', { timeout: 5000 });
    assert.match((await page.textContent('#demand-error')) ?? '', /missing token/);
    assert.equal(await paused(), false);
    await page.fill('#token', TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('#services tbody tr[data-service="batch"].paused', { timeout: 10_000 });
    assert.equal(await paused(), true);
    assert.equal(await page.textContent('#demand-error'), '');
    // And back, with the token kept for the tab.
    await page.click('#services tbody tr[data-service="batch"] button.pause');
    await page.waitForSelector('#services tbody tr[data-service="batch"]:not(.paused)', { timeout: 10_000 });
    assert.deepEqual(errors, []);
  });
});
