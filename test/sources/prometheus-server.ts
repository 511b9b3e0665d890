// A real Prometheus for tests: Debian's binary on a free port, with a temporary config and storage, scraping
// itself and a tiny /metrics endpoint the test controls. `.ci/setup-prometheus.sh` installs the binary.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './servers.js';

export function prometheusInstalled(): boolean {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface TestPrometheus {
  readonly url: string;
  /** Sets the gauge `ms_test_queue_depth` the test endpoint serves (scraped every second). */
  setDepth(n: number): void;
  /** Adds to the counter `ms_test_jobs_total`. */
  addJobs(n: number): void;
  stop(): Promise<void>;
}

export async function startPrometheus(): Promise<TestPrometheus> {
  let depth = 0;
  let jobs = 0;
  const exporter: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      `# TYPE ms_test_queue_depth gauge\nms_test_queue_depth ${depth}\n# TYPE ms_test_jobs_total counter\nms_test_jobs_total ${jobs}\n`,
    );
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const exporterPort = (exporter.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'microscaler-prometheus-'));
  const port = await closedPort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      `  - { job_name: self, static_configs: [{ targets: ["127.0.0.1:${port}"] }] }`,
      `  - { job_name: queue, static_configs: [{ targets: ["127.0.0.1:${exporterPort}"] }] }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((resolve) => exporter.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once both targets have been scraped: `up` then has two series.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr.slice(-500)}`);
    }
    try {
      const res = await fetch(`${url}/api/v1/query?query=count(up)`);
      const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
      if (body.data?.result?.[0]?.value[1] === '2') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not scrape its targets within 30 s: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    setDepth: (n) => {
      depth = n;
    },
    addJobs: (n) => {
      jobs += n;
    },
    stop,
  };
}
