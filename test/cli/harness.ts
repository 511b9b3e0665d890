// Runs the CLI as a user does: a subprocess of `node --import tsx src/cli/main.ts`.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Cli {
  child: ChildProcess;
  /** What it printed so far. */
  out(): string;
  done: Promise<Result>;
}

export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; spawn?: SpawnOptions } = {}): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.spawn,
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
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, out: () => stdout, done };
}

export const run = (args: string[], env?: NodeJS.ProcessEnv) => cli(args, env ? { env } : {}).done;

/** Live (not zombie) processes whose environment holds `entry` (e.g. MICROSCALER_INSTANCE=demo). */
export function processesWith(entry: string): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0] as string;
      if (state === 'Z') continue;
      if (env.includes(entry)) out.push({ pid: Number(name), state });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A process as /proc knows it: pid plus start time, so that a reused pid is not mistaken for it. */
export interface Proc {
  readonly pid: number;
  readonly start: string;
}

function stat(pid: number): { ppid: number; state: string; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] as string, ppid: Number(fields[1]), start: fields[19] as string };
  } catch {
    return undefined;
  }
}

/** Live children of `parent` whose environment holds `entry`, with their state (R, S, T for stopped...). */
export function childrenWith(parent: number, entry: string): (Proc & { state: string })[] {
  const out: (Proc & { state: string })[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s || s.ppid !== parent || s.state === 'Z') continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry))
        out.push({ pid: Number(name), start: s.start, state: s.state });
    } catch {
      // gone
    }
  }
  return out;
}

/** Whether that very process (not a later one with its pid) still runs; a zombie counts as gone. */
export function alive(p: Proc): boolean {
  const s = stat(p.pid);
  return s !== undefined && s.start === p.start && s.state !== 'Z';
}

/** Cleanup after a failed test: SIGKILL to each group of the given processes that still runs. */
export function killAll(procs: Iterable<Proc>): void {
  for (const p of procs) {
    if (!alive(p)) continue;
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}
