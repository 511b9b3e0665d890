// The scheduler contract (contract.ts) on the process back-end: real processes on this machine, judged
// from /proc. A replica is `sh -c SCRIPT MARKER` (the marker in its argv finds it) that takes 0.4 s to stop.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import type { Scheduler } from '../../src/core/ports.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { ProcessScheduler } from '../../src/schedulers/process/index.js';
import { type Backend, SERVICE, schedulerContract } from './contract.js';

const SCRIPT = 'trap "sleep 0.4; exit 0" TERM; while :; do sleep 0.1; done';
let serial = 0;

/**
 * Pids of live (not zombie) processes whose argv is exactly this, leaving out a shell's fork that has not
 * yet exec'd its `sleep` (it has the same argv for a moment, and its parent is one of them).
 */
function pidsOf(argv: readonly string[]): number[] {
  const want = `${argv.join('\0')}\0`;
  const found = new Map<number, number>(); // pid -> ppid
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') !== want) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') found.set(Number(name), Number(ppid));
    } catch {
      // gone meanwhile
    }
  }
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}

function build(instance: string, stateDir: string, command: string[]): Promise<Scheduler> {
  return ProcessScheduler.create(
    { stateDir },
    {
      clock: systemClock,
      logger: { log() {} },
      instance,
      services: [{ name: SERVICE, run: { command, stopGraceMs: 2000 } }],
    },
  );
}

describe('scheduler contract: process (real processes)', () => {
  schedulerContract('process', async (): Promise<Backend> => {
    const marker = `contract-${process.pid}-${++serial}`;
    const command = ['sh', '-c', SCRIPT, marker];
    const dir = mkdtempSync(join(tmpdir(), 'microscaler-contract-'));
    const extras: ChildProcess[] = [];
    let other: Scheduler | undefined;
    /** The look-alike's and the other instance's pids: theirs, never counted as ours. */
    const theirs = new Set<number>();
    return {
      scheduler: () => build('shop', join(dir, 'shop'), command),
      // Ours only: what notOurs() starts runs the same argv and is left out by its pid.
      existing: async () =>
        pidsOf(command)
          .filter((p) => !theirs.has(p))
          .map(String),
      notOurs: async () => {
        // A look-alike started by someone else, and another instance's replica (its own state folder).
        const lookalike = spawn(command[0] as string, command.slice(1), { stdio: 'ignore', detached: true });
        extras.push(lookalike);
        other = await build('other', join(dir, 'other'), command);
        await other.scale(SERVICE, 1, 'contract: theirs');
        const end = Date.now() + 10_000;
        while (pidsOf(command).length < 2) {
          if (Date.now() > end) assert.fail('the look-alike and the other instance never ran');
          await new Promise((r) => setTimeout(r, 20));
        }
        for (const p of pidsOf(command)) theirs.add(p);
        return async () => {
          assert.deepEqual(
            pidsOf(command).sort(),
            [...theirs].sort(),
            'the look-alike and the other instance still run, and nothing of ours is left',
          );
          assert.equal((await other?.observe(AbortSignal.timeout(5000)))?.get(SERVICE)?.running, 1);
        };
      },
      cleanup: async () => {
        if (other) {
          await other.scale(SERVICE, 0, 'contract: cleanup');
          await other.close();
        }
        for (const c of extras) c.kill('SIGKILL');
        for (const p of pidsOf(command)) process.kill(p, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
