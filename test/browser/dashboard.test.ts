// The dashboard in a real browser (Debian's Chromium) against a real demo instance: real HTTP server, real
// controller, real `sleep` replicas.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type Demo, launchBrowser, missingBrowser, post, startDemo } from './harness.js';

const skip = missingBrowser();

// The little of the DOM that the functions run in the page touch: the project compiles without the DOM
// library, and these declarations stay inside this module.
interface DomNode {
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
}
interface DomRow extends DomNode {
  readonly cells: ArrayLike<DomNode>;
}
interface Context2d {
  drawImage(image: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
}
interface DomCanvas extends DomNode {
  width: number;
  height: number;
  readonly clientWidth: number;
  getContext(kind: '2d', options?: { willReadFrequently: boolean }): Context2d | null;
}
declare const document: {
  querySelector(selector: string): DomNode | null;
  getElementById(id: string): DomNode | null;
  createElement(tag: 'canvas'): DomCanvas;
};

/** A row's cells by column name, as the page shows them. */
async function row(page: Page, service: string): Promise<Record<string, string>> {
  return page.evaluate((name) => {
    const tr = document.querySelector(`#services tbody tr[data-service="${name}"]`) as DomRow | null;
    if (!tr) return {};
    const cols = [
      'service',
      'priority',
      'value',
      'need',
      'desired',
      'running',
      'starting',
      'stopping',
      'warm',
      'reason',
    ];
    return Object.fromEntries(cols.map((c, i) => [c, tr.cells[i]?.textContent?.trim() ?? '']));
  }, service);
}

/** The colour drawn at the chart's right edge, at `replicas` on the y axis. */
async function pixelAt(page: Page, replicas: number): Promise<[number, number, number, number]> {
  return page.evaluate((v) => {
    const canvas = document.getElementById('chart') as DomCanvas;
    const plot = JSON.parse(canvas.dataset.plot ?? '{}');
    const yMax = Number(canvas.dataset.yMax);
    const ratio = canvas.width / canvas.clientWidth;
    const x = (plot.left + plot.width - 3) * ratio;
    const y = (plot.top + plot.height - (v / yMax) * plot.height) * ratio;
    // Read from a copy made for reading: readbacks from the page's own canvas make Chrome warn.
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true }) as Context2d;
    ctx.drawImage(canvas, 0, 0);
    const d = ctx.getImageData(x, y, 1, 1).data;
    return [d[0], d[1], d[2], d[3]] as [number, number, number, number];
  }, replicas);
}

/** True as soon as the check passes, false if it still fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const warm = ([r, , b, a]: number[]) => (a ?? 0) > 100 && (r ?? 0) > 180 && (b ?? 0) < 120; // priority 1
const cool = ([r, , b, a]: number[]) => (a ?? 0) > 100 && (b ?? 0) > 180 && (r ?? 0) < 120; // priority 2

describe('dashboard in Chromium', { skip }, () => {
  let browser: Browser;
  let demo: Demo;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    [browser, demo] = await Promise.all([launchBrowser(), startDemo()]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  test('loads with no console errors and shows the services in the table and the chart', async () => {
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(demo.url);
    await page.waitForSelector('#services tbody tr[data-service="batch"]', { timeout: 10_000 });
    await page.waitForSelector('.connection.live', { timeout: 10_000 });
    // A few samples of history, and the demo's replicas started.
    await page.waitForFunction(
      () => Number(document.getElementById('chart')?.dataset.samples) >= 4,
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () => /batch [1-9]\d* running/.test(document.getElementById('chart')?.getAttribute('aria-label') ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    assert.equal((await row(page, 'web')).priority, '1');
    assert.equal((await row(page, 'batch')).priority, '2');
    assert.deepEqual(
      await page.$$eval('#services tbody tr', (rows) =>
        rows.map((r) => (r as unknown as DomNode).dataset.service),
      ),
      ['web', 'batch'],
    );
    const legend = await page.textContent('#legend');
    assert.match(legend ?? '', /web \(priority 1\).*batch \(priority 2\).*capacity/);
    // The chart draws web's band (warm) under batch's (cool), up to capacity. The demo's demand keeps
    // moving and the canvas redraws on the next frame, so read the label and the pixels together, polling.
    let seen = '';
    const banded = await eventually(async () => {
      const label = (await page.getAttribute('#chart', 'aria-label')) ?? '';
      const web = Number(/web (\d+) running/.exec(label)?.[1]);
      const batch = Number(/batch (\d+) running/.exec(label)?.[1]);
      const low = await pixelAt(page, web / 2);
      const high = await pixelAt(page, web + batch / 2);
      seen = `${label}: web band ${low}, batch band ${high}`;
      return web >= 1 && batch >= 1 && warm(low) && cool(high);
    });
    assert.ok(banded, seen);
    // Events arrived through the stream.
    await page.waitForSelector('#events li.kind-start', { timeout: 10_000 });
    // Everything came from the server itself.
    const origin = new URL(demo.url).origin;
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(origin)),
      [],
    );
    assert.deepEqual(problems, []);
  });

  test('a demand change made through the API shows in the table and the chart within a second', async () => {
    const started = Date.now();
    const res = await post(`${demo.url}/api/services/web/demand`, { value: 150 });
    assert.equal(res.status, 200);
    await page.waitForFunction(
      () => {
        const tr = document.querySelector('#services tbody tr[data-service="web"]') as DomRow;
        const label = document.getElementById('chart')?.getAttribute('aria-label') ?? '';
        return (
          tr.cells[2]?.textContent === '150' && tr.cells[3]?.textContent === '15' && /need 15/.test(label)
        );
      },
      undefined,
      { timeout: 1000 },
    );
    assert.ok(Date.now() - started <= 1500, `took ${Date.now() - started} ms`);
    // Batch gives way: web's 15 replicas run, and the chart's warm band grows over where batch was.
    await page.waitForFunction(
      () => /web 15 running/.test(document.getElementById('chart')?.getAttribute('aria-label') ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    // The label follows the state at once; the canvas is redrawn on the next frame: poll the pixels.
    assert.ok(
      await eventually(async () => warm(await pixelAt(page, 13))),
      `at 13 replicas: ${await pixelAt(page, 13)}`,
    );
    assert.ok(
      await eventually(async () => cool(await pixelAt(page, 17.5))),
      `at 17.5 replicas: ${await pixelAt(page, 17.5)}`,
    );
    assert.equal((await row(page, 'batch')).desired, '5');
    await page.waitForSelector('#events li.kind-preempt', { timeout: 5000 });
    assert.deepEqual(problems, []);
  });

  test("the demo's control moves web's demand by hand", async () => {
    await page.waitForSelector('#demand-panel:not([hidden]) .control[data-service="web"]');
    assert.equal(await page.$('.control[data-service="batch"]'), null, 'batch takes no demand');
    await page.fill('.control[data-service="web"] input[type="range"]', '30');
    await page.waitForFunction(
      () =>
        (document.querySelector('#services tbody tr[data-service="web"]') as DomRow).cells[3]?.textContent ===
        '3',
      undefined,
      { timeout: 5000 },
    );
    const state = (await (await fetch(`${demo.url}/api/state`)).json()) as {
      services: { name: string; value: number; override?: { value: number } }[];
    };
    const web = state.services.find((s) => s.name === 'web');
    assert.equal(web?.override?.value, 30);
    assert.match(
      (await page.textContent('.control[data-service="web"] .held')) ?? '',
      /set by hand, \d+ s left/,
    );
    assert.deepEqual(problems, []);
  });

  test('reconnects after the server restarts, and shows what the new server says', async () => {
    const before = Number(await page.getAttribute('#chart', 'data-samples'));
    await demo.stop();
    await page.waitForSelector('.connection.connecting', { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    await demo.start();
    await page.waitForSelector('.connection.live', { timeout: 15_000 });
    // The history kept in the browser survives; new samples come from the new server.
    await page.waitForFunction(
      (n) => Number(document.getElementById('chart')?.dataset.samples) > n + 2,
      before,
      { timeout: 10_000 },
    );
    assert.equal((await post(`${demo.url}/api/services/web/demand`, { value: 70 })).status, 200);
    await page.waitForFunction(
      () =>
        (document.querySelector('#services tbody tr[data-service="web"]') as DomRow).cells[2]?.textContent ===
        '70',
      undefined,
      { timeout: 5000 },
    );
    // No page reload happened: the same document still holds the samples from before the restart.
    assert.ok(Number(await page.getAttribute('#chart', 'data-samples')) > before);
  });
});
