import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTrace, MAX_TRACE_BYTES } from './trace.js';

test('a trace file that never ends (/dev/zero) is refused at the size limit, without filling memory', async () => {
  const before = process.memoryUsage().rss;
  await assert.rejects(loadTrace('/dev/zero'), /\/dev\/zero: the file is larger than 64 MiB/);
  // what was read is at most the limit (plus a chunk), never the 750 MB of an unbounded read
  assert.ok(process.memoryUsage().rss - before < 3 * MAX_TRACE_BYTES, 'memory grew past the limit');
});

test('a trace over the limit is refused, one at the limit is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'microscaler-trace-limit-'));
  try {
    const file = join(dir, 't.csv');
    const text = 't_seconds,service,demand\n0,web,1\n60,web,2\n';
    writeFileSync(file, text);
    assert.equal((await loadTrace(file, Buffer.byteLength(text))).step, 60);
    await assert.rejects(loadTrace(file, Buffer.byteLength(text) - 1), /larger than/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
