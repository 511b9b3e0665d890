// Regenerates docs/dashboard.png: the demo on real replicas, after some history, at 1280×800.
// Run: node --import tsx test/browser/screenshot.ts [seconds, default 60] [seed, default 11]
import { fileURLToPath } from 'node:url';
import { launchBrowser, missingBrowser, startDemo } from './harness.js';

const seconds = Number(process.argv[2] ?? 60);
const seed = Number(process.argv[3] ?? 11);
const missing = missingBrowser();
if (missing) throw new Error(missing);
const [browser, demo] = await Promise.all([launchBrowser(), startDemo(seed)]);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(demo.url);
  await page.waitForTimeout(seconds * 1000);
  const out = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await demo.close();
}
