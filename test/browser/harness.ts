// What the browser tests share: Debian's Chromium through playwright-core, and a demo instance (real
// `sleep` replicas, process back-end) started in-process on an ephemeral port.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { demoConfig } from '../../src/cli/demo.js';
import type { Config } from '../../src/core/types.js';
import { silentLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. In CI a missing browser is a failure. */
export function missingBrowser(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is missing (install it with: apt-get install chromium, or .ci/setup-chromium.sh)`;
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run in CI: ${why}`);
  return why;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Demo {
  readonly instance: Instance;
  readonly url: string;
  /** Stops the instance, leaving its replicas running (as `run` does on exit), and starts it again on the same port. */
  restart(betweenMs?: number): Promise<void>;
  /** Stops the API only, until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops every replica and removes the state folder. */
  close(): Promise<void>;
}

export interface DemoOptions {
  /** The API's token (as MICROSCALER_TOKEN would give it): writes without it are refused with 401. */
  readonly token?: string;
  /** Changes the demo's config (say, adds a service) before it starts. */
  readonly configure?: (config: Config) => Config;
}

/** The built-in demo (web priority 1 under random demand, batch priority 2), with web's demand settable by hand. */
export async function startDemo(seed = 7, options: DemoOptions = {}): Promise<Demo> {
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-browser-'));
  const demo = demoConfig({ scheduler: 'process', stateDir, seed });
  const config = options.configure ? options.configure(demo) : demo;
  const launch = (listen: string) =>
    startInstance({
      config,
      clock: systemClock,
      logger: silentLogger,
      baseDir: process.cwd(),
      listen,
      overridable: ['web'],
      env: options.token === undefined ? {} : { MICROSCALER_TOKEN: options.token },
    });
  let instance: Instance | undefined = await launch('127.0.0.1:0');
  const url = instance.api?.url as string;
  const port = new URL(url).port;
  const handle: Demo = {
    get instance() {
      if (!instance) throw new Error('the demo is stopped');
      return instance;
    },
    url,
    async stop() {
      await instance?.close({ drain: false });
      instance = undefined;
    },
    async start() {
      instance = await launch(`127.0.0.1:${port}`);
    },
    async restart(betweenMs = 0) {
      await handle.stop();
      await new Promise((r) => setTimeout(r, betweenMs));
      await handle.start();
    },
    async close() {
      try {
        if (!instance) instance = await launch('127.0.0.1:0'); // adopts the replicas, to stop them
        await instance.close({ drain: true });
      } finally {
        instance = undefined;
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
  return handle;
}

/** POST JSON to the demo's API, returning status and parsed body. */
export async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
