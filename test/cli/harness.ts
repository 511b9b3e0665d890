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
