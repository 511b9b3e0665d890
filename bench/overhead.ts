// The controller's own cost: CPU share and peak RSS of `microscaler run` with 100 services at a 100 ms
// tick, next to a baseline measured side by side in the same run: an idle Node.js process with a 100 ms
// timer (what any Node daemon costs before it does anything).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const TICKS_PER_SECOND = 100; // Linux USER_HZ: /proc/<pid>/stat counts cpu time in 1/100 s

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function config(dir: string, services: number, moving: boolean): string {
  const lines = [
    'name: bench-overhead',
    `capacity: { replicas: ${services * 2} }`,
    'interval: 100ms',
    `scheduler: { type: process, stateDir: ${JSON.stringify(join(dir, 'state'))} }`,
    'services:',
  ];
  for (let i = 0; i < services; i++) {
    // steady: every service needs 2 replicas; moving: a random walk every 3 s (Force12's demo pace), so
    // replicas start and stop all the time and the back-end's own work (spawning processes) shows too
    const source = moving
      ? `{ type: random, seed: ${i + 1}, min: 0, max: 30, step: 10, every: 3s }`
      : '{ type: static, value: 15 }';
    lines.push(
      `  svc-${i}:`,
      `    priority: ${1 + (i % 2)}`,
      '    max: 3',
      '    scaleDownWindow: 1s',
      '    run: { command: [sleep, "3600"], stopGrace: 1s }',
      '    demand:',
      `      source: ${source}`,
      '      rule: { type: target, perReplica: 10 }',
    );
  }
  const path = join(dir, 'microscaler.yaml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export interface Overhead {
  moving: boolean;
  seconds: number;
  /** Replicas started and stopped while measuring. */
  actions: number;
  microscaler: { cpuPercent: number; peakRssMb: number };
  baseline: { cpuPercent: number; peakRssMb: number };
}

export async function benchOverhead(seconds: number, moving: boolean, services = 100): Promise<Overhead> {
  const dir = mkdtempSync(join(tmpdir(), 'microscaler-bench-'));
  // the installed entry point: the compiled CLI (npm run build), as a user runs it
  const bin = new URL('../bin/microscaler.js', import.meta.url).pathname;
  const ms = spawn(
    process.execPath,
    [bin, 'run', '-c', config(dir, services, moving), '--listen', '127.0.0.1:0', '--stop-on-exit'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // `run` prints one line per plan change when not on a terminal: count the ones that start or stop
  let actions = 0;
  let counting = false;
  let partial = '';
  ms.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    if (!counting) return;
    for (const line of lines) {
      const m = /(?:scale (?:up|down)|preempted) \S+? ?(?:×\d+ .*: )?\S+ (\d+)→(\d+)/.exec(line);
      if (m) actions += Math.abs(Number(m[2]) - Number(m[1]));
    }
  });
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 100)'], { stdio: 'ignore' });
  try {
    // start-up (loading tsx, first replicas) is not the steady state: measure after it
    await delay(3000);
    const pids = [ms.pid as number, idle.pid as number];
    const before = pids.map(cpuTicks);
    counting = true;
    const t0 = process.hrtime.bigint();
    await delay(seconds * 1000);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const used = pids.map((pid, i) => (cpuTicks(pid) - (before[i] as number)) / TICKS_PER_SECOND);
    const share = (cpu: number) => (100 * cpu) / elapsed;
    return {
      moving,
      actions,
      seconds: elapsed,
      microscaler: { cpuPercent: share(used[0] as number), peakRssMb: peakRssMb(pids[0] as number) },
      baseline: { cpuPercent: share(used[1] as number), peakRssMb: peakRssMb(pids[1] as number) },
    };
  } finally {
    idle.kill();
    ms.kill('SIGTERM');
    await new Promise((r) => ms.once('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function overheadRows(runs: Overhead[]): string[] {
  const rows = [
    'controller cost, 100 services, 100 ms tick, next to an idle node process with a 100 ms timer (baseline)',
    'demand                         seconds  replica starts+stops   cpu % of a core   peak RSS   cpu ratio  RSS ratio',
  ];
  for (const o of runs) {
    const m = o.microscaler;
    const b = o.baseline;
    const label = o.moving ? 'random walk every 3 s' : 'steady';
    rows.push(
      `${`${label}: microscaler`.padEnd(31)}${o.seconds.toFixed(0).padStart(7)}  ${String(o.actions).padStart(21)}  ${m.cpuPercent.toFixed(2).padStart(16)}  ${m.peakRssMb.toFixed(1).padStart(6)} MB  ${(m.cpuPercent / Math.max(b.cpuPercent, 0.01)).toFixed(1).padStart(8)}×  ${(m.peakRssMb / b.peakRssMb).toFixed(1).padStart(8)}×`,
      `${`${label}: baseline`.padEnd(31)}${o.seconds.toFixed(0).padStart(7)}  ${'-'.padStart(21)}  ${b.cpuPercent.toFixed(2).padStart(16)}  ${b.peakRssMb.toFixed(1).padStart(6)} MB`,
    );
  }
  const steady = runs.find((o) => !o.moving);
  if (steady) {
    const m = steady.microscaler;
    rows.push(
      `targets (steady demand): under 2 % of one core: ${m.cpuPercent < 2 ? 'met' : 'NOT met'}; under 100 MB: ${m.peakRssMb < 100 ? 'met' : 'NOT met'}`,
    );
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? 30);
  const runs = [await benchOverhead(seconds, false), await benchOverhead(seconds, true)];
  console.log(overheadRows(runs).join('\n'));
}
