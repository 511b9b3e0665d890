// Helpers for the process back-end's end-to-end tests: the CLI as a user runs it, and /proc as it is.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const BIN = new URL('../../bin/microscaler.js', import.meta.url).pathname;

export interface Cli {
  readonly child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const started = new Set<ChildProcess>();

/** `node bin/microscaler.js ARGS`, as a user types it. */
export function cli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.on('exit', () => started.delete(child));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err })),
  );
  return { child, stdout: () => out, stderr: () => err, done };
}

/** Its exit, or a failure (and a SIGKILL) if it still runs after `ms`. */
export async function exited(run: Cli, ms: number): Promise<{ code: number | null; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  const result = await Promise.race([run.done, late]);
  clearTimeout(timer);
  if (result === 'late') {
    run.child.kill('SIGKILL');
    await run.done;
    throw new Error(`still running after ${ms}ms\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`);
  }
  return result;
}

/** The API's URL, once the CLI says where it listens. */
export function apiUrl(run: Cli, ms = 30_000): Promise<string> {
  return waitFor('the api url', () => /api listening on (\S+)/.exec(run.stdout())?.[1], ms, run);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
  run?: Cli,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${run ? `\nstderr: ${run.stderr()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live (not zombie) processes whose environment names this instance: replicas and their children. */
export function processesOf(instance: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`MICROSCALER_INSTANCE=${instance}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids.sort((a, b) => a - b);
}

/** SIGKILL to every CLI a test started that still runs (a failed test's cleanup). */
export function killClis(): void {
  for (const child of started) child.kill('SIGKILL');
}

/** SIGKILL to every process of the instance (a test's cleanup, whatever happened). */
export function killAll(instance: string): void {
  for (const pid of processesOf(instance)) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

export async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

export interface State {
  capacity: { used: number; replicas: number };
  services: {
    name: string;
    running: number;
    starting: number;
    stopping: number;
    desired: number;
    warm?: number;
    scaleError?: string;
  }[];
}
