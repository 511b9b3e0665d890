// Issue 13, item 6: replica logs never fill the disk. On a real tiny tmpfs, a chatty replica whose cap
// (run.logs.maxSize) is larger than the whole disk writes twice the disk's size; the process back-end
// empties the logs when the disk is nearly full, so the replica keeps logging and new replicas still get
// their records written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { LogLevel } from '../../src/core/ports.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { ProcessScheduler } from '../../src/schedulers/process/index.js';
import { replicaPids } from '../fixtures/process/proc.js';

const SIZE = 16 * 2 ** 20;
const LINE = 1000;
const root = process.getuid?.() === 0;
const skip =
  !root && process.env.CI !== 'true' ? 'mounting a tmpfs needs root (CI=true makes this a failure)' : false;
const instance = `logs-disk-${process.pid}`;
const mountPoint = mkdtempSync(join(tmpdir(), 'microscaler-logsdisk-'));
let mounted = false;

before(() => {
  if (skip) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', mountPoint]);
  mounted = true;
});
after(() => {
  for (const pid of replicaPids(instance)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** The last whole line's sequence number in a log (`<8 digits> 000...`), 0 when there is none. */
function lastLine(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return 0;
  }
  const all = [...text.matchAll(/^(\d{8}) 0{990}$/gm)];
  return Number(all.at(-1)?.[1] ?? 0);
}

test('a replica that writes twice the disk: the logs are emptied, the disk never stays full', {
  skip,
}, async () => {
  const logs: Array<{ level: LogLevel; message: string }> = [];
  const stateDir = join(mountPoint, 'state');
  // Cap and rotation larger than the disk: only the nearly-full rule can save it.
  const big = { maxSize: 1024 * 2 ** 20, keep: 2, retentionMs: 600_000, keepStopped: 10 };
  const chatty = [
    'sh',
    '-c',
    'i=0; while :; do j=0; while [ $j -lt 100 ]; do i=$((i+1)); j=$((j+1)); printf "%08d %0990d\\n" $i 0; done; sleep 0.02; done',
  ];
  const s = await ProcessScheduler.create(
    { stateDir },
    {
      clock: systemClock,
      logger: { log: (level, message) => logs.push({ level, message }) },
      instance,
      services: [
        { name: 'web', run: { command: chatty, stopGraceMs: 200, logs: big } },
        { name: 'late', run: { command: ['sleep', '60'], stopGraceMs: 200, logs: big } },
      ],
    },
  );
  try {
    await s.scale('web', 1, 'test');
    const id = s.list()[0]?.id;
    const log = join(stateDir, 'logs', `web-${id}.log`);
    let last = 0;
    const deadline = Date.now() + 120_000;
    // Lines keep reaching the file after it has taken twice the disk: it was emptied on the way.
    while (last * LINE < 2 * SIZE) {
      if (Date.now() > deadline) assert.fail(`the replica's log stopped at line ${last} (disk full?)`);
      last = Math.max(last, lastLine(log));
      await delay(50);
    }
    assert.ok(
      logs.some((l) => l.level === 'warn' && /nearly full: replica logs are emptied/.test(l.message)),
      'the nearly-full disk was reported',
    );
    // The state records still fit: a new replica starts.
    await s.scale('late', 1, 'test');
    assert.equal(s.list().filter((r) => r.service === 'late').length, 1);
  } finally {
    await s.stopAll();
    await s.close();
  }
});
