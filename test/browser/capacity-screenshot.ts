// Regenerates docs/capacity.png: the demo on real replicas with a live capacity that steps up as "nodes
// join" (an HTTP budget of 8, then 12, 16 and 20 replicas), so the dashboard's capacity line steps and
// batch takes each new node's room at once. Run: node --import tsx test/browser/capacity-screenshot.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { launchBrowser, missingBrowser, startDemo } from './harness.js';

const STEP_S = Number(process.argv[2] ?? 15);
const missing = missingBrowser();
if (missing) throw new Error(missing);
const started = Date.now();
const budget = () => Math.min(20, 8 + 4 * Math.floor((Date.now() - started) / (STEP_S * 1000)));
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ replicas: budget() }));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/budget`;
const [browser, demo] = await Promise.all([
  launchBrowser(),
  startDemo(11, {
    configure: (config) => ({
      ...config,
      capacity: { replicas: 1 },
      liveCapacity: {
        from: 'source',
        source: { type: 'http', url, path: 'replicas' },
        confirmMs: 30_000,
        everyMs: 1000,
      },
    }),
  }),
]);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(demo.url);
  await page.waitForTimeout(STEP_S * 4 * 1000 + 10_000);
  const out = fileURLToPath(new URL('../../docs/capacity.png', import.meta.url));
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await demo.close();
  server.close();
}
