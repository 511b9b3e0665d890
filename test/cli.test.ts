// End-to-end: the CLI as a user runs it, as a subprocess, with real replica processes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'microscaler-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

const run = (args: string[], env?: NodeJS.ProcessEnv) => cli(args, env).done;

/** Pids of live processes whose environment says they are replicas of this instance. */
function replicasOf(instance: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (env.includes(`MICROSCALER_INSTANCE=${instance}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function file(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

const GOOD = `
name: NAME
capacity: { replicas: 6 }
interval: 50ms
scheduler: { type: process, stateDir: STATE }
services:
  web:
    priority: 1
    min: 1
    max: 5
    scaleDownWindow: 200ms
    run: { command: [sleep, "300"], stopGrace: 1s }
    demand:
      source: { type: push, maxAge: 1h }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    run: { command: [sleep, "300"], stopGrace: 1s }
    demand: { rule: { type: remainder } }
`;

function goodConfig(name: string): string {
  return file(`${name}.yaml`, GOOD.replace('NAME', name).replace('STATE', join(work, `state-${name}`)));
}

describe('validate', () => {
  test('a good file: exit 0', async () => {
    const r = await run(['validate', '-c', goodConfig('valid')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok: 2 services, capacity 6 replicas, scheduler process/);
  });

  test('a broken file: exit 2, one line per problem, nothing started', async () => {
    const path = file(
      'broken.yaml',
      `
capacity: { replicas: -3 }
interval: soon
services:
  web:
    priority: 1
    min: 5
    max: 2
    run: { command: [sleep, "1"] }
    demand: { rule: { type: target, perReplica: 10 } }
`,
    );
    const r = await run(['validate', '-c', path]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    for (const prefix of [
      'capacity.replicas:',
      'interval:',
      'services.web.min:',
      'services.web.demand.source:',
    ]) {
      assert.ok(
        lines.some((l) => l.startsWith(prefix)),
        `expected a line starting ${prefix} in:\n${r.stderr}`,
      );
    }
    assert.equal(r.stdout, '');
  });

  test('a source problem only the source can see (a trace file that is missing)', async () => {
    const path = file(
      'trace-missing.yaml',
      `
capacity: { replicas: 4 }
services:
  web:
    run: { command: [sleep, "1"] }
    demand:
      source: { type: trace, file: nowhere.csv }
      rule: { type: target, perReplica: 10 }
`,
    );
    const r = await run(['validate', '-c', path]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^services\.web\.demand\.source\.file: .*nowhere\.csv/m);
  });

  test('a live capacity: exit 0, saying where it is read from', async () => {
    const path = file(
      'live.yaml',
      `
capacity: { from: scheduler, perNode: 4, reserve: { cpu: 0.5 } }
scheduler: { type: process, stateDir: ${JSON.stringify(join(work, 'state-live'))} }
services:
  web: { run: { command: [sleep, "1"] }, demand: { rule: { type: remainder } } }
`,
    );
    const r = await run(['validate', '-c', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /ok: 1 services, capacity from the scheduler \(4 replicas per node\), scheduler process/,
    );
  });

  test('a live capacity the back-end cannot give, and a capacity source only opening can check', async () => {
    const marathon = file(
      'live-marathon.yaml',
      `
capacity: { from: scheduler, perNode: 4 }
scheduler: { type: marathon, url: "http://127.0.0.1:1" }
services:
  web: { run: { workload: /shop/web }, demand: { rule: { type: remainder } } }
`,
    );
    const r = await run(['validate', '-c', marathon]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^capacity\.from: the marathon back-end cannot report what its machines offer/m);
    const trace = file(
      'live-trace.yaml',
      `
capacity: { source: { type: trace, file: nowhere.csv, service: budget } }
services:
  web: { run: { command: [sleep, "1"] }, demand: { rule: { type: remainder } } }
`,
    );
    const t = await run(['validate', '-c', trace]);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /^capacity\.source\.file: .*nowhere\.csv/m);
  });

  test('a missing file and bad usage: exit 2', async () => {
    assert.equal((await run(['validate', '-c', join(work, 'nope.yaml')])).code, 2);
    assert.equal((await run(['validate'])).code, 2);
    assert.equal((await run(['frobnicate'])).code, 2);
  });
});

describe('plan', () => {
  test('prints one decision and starts nothing', async () => {
    const r = await run(['plan', '-c', goodConfig('plan'), '--demand', 'web=42']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^web\s+1\s+42\s+5\s+5\s+0/m);
    assert.match(r.stdout, /^batch\s+2\s+-\s+\d+\s+1\s+0/m);
    assert.match(r.stdout, /desired 6 of capacity 6/);
    assert.deepEqual(replicasOf('plan'), []);
  });

  test('--json and --running', async () => {
    const r = await run([
      'plan',
      '-c',
      goodConfig('planjson'),
      '--demand',
      'web=15',
      '--running',
      'web=4',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const services = JSON.parse(r.stdout) as { name: string; desired: number }[];
    // running 4 counts as the recent past: no scale-down within the window
    assert.equal(services.find((s) => s.name === 'web')?.desired, 4);
  });

  test('bad --demand: exit 2', async () => {
    const r = await run(['plan', '-c', goodConfig('planbad'), '--demand', 'nosuch=3']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no service "nosuch"/);
  });
});

describe('demo', () => {
  test('runs real replicas, shows changes, stops everything on exit', async () => {
    assert.deepEqual(replicasOf('demo'), [], 'a demo is already running on this machine');
    const { done } = cli(['demo', '--duration', '3s', '--listen', '127.0.0.1:0', '--seed', '7']);
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /plan\s+scale up web 0→\d+/);
    assert.match(r.stdout, /plan\s+scale up batch 0→\d+: remainder/);
    assert.match(r.stdout, /peak capacity used 20\/20/);
    assert.deepEqual(replicasOf('demo'), [], 'replicas left behind');
  });
});

describe('run', () => {
  test('push demand through the API, scale up at once; replicas survive exit and are adopted after kill -9', async () => {
    const name = `e2e-${process.pid}`;
    const config = goodConfig(name);
    const first = cli(['run', '-c', config, '--listen', '127.0.0.1:0']);
    let out = '';
    first.child.stdout?.on('data', (d) => {
      out += d;
    });
    const url = await waitFor('the api url', () => /api listening on (\S+)/.exec(out)?.[1]);
    const state = async () =>
      (await (await fetch(`${url}/api/state`)).json()) as {
        capacity: { used: number };
        services: { name: string; running: number; desired: number; error?: string }[];
      };
    // no value pushed yet: web holds at what runs (0, then its min)
    await waitFor('web at min', async () => ((await state()).services[0]?.running === 1 ? true : undefined));

    const pushed = Date.now();
    const response = await fetch(`${url}/api/services/web/demand`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 45 }),
    });
    assert.equal(response.status, 200);
    await waitFor(
      'web at 5',
      async () => ((await state()).services[0]?.running === 5 ? true : undefined),
      2000,
    );
    const reaction = Date.now() - pushed;
    assert.ok(reaction < 1000, `scaled up in ${reaction}ms`);
    await waitFor('capacity full', async () => ((await state()).capacity.used === 6 ? true : undefined));
    const before = replicasOf(name).sort();
    assert.equal(before.length, 6);

    // kill -9: the replicas keep running
    first.child.kill('SIGKILL');
    await first.done;
    assert.deepEqual(replicasOf(name).sort(), before);

    // a restart adopts them: same processes, no duplicates; then --stop-on-exit stops them all
    const second = cli(['run', '-c', config, '--listen', '127.0.0.1:0', '--stop-on-exit']);
    let out2 = '';
    second.child.stdout?.on('data', (d) => {
      out2 += d;
    });
    await waitFor('the second api', () => (/api listening on (\S+)/.test(out2) ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(replicasOf(name).sort(), before, 'adopted, not duplicated');
    second.child.kill('SIGTERM');
    const r2 = await second.done;
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(replicasOf(name), [], 'stop-on-exit left replicas behind');
  });
});
