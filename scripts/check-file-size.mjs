// No file in src/ over 400 lines (issue 14), unless one of its first ten lines says why, in a comment that
// starts `Over 400 lines:`. A file that long usually holds more than one job; the reason says why not.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const LIMIT = 400;
const REASON = /^\s*(?:\/\/|\/?\*)\s*Over 400 lines: \S/;

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.(?:[cm]?[jt]sx?|css|html)$/.test(p) ? [p] : [];
  });
}

const problems = [];
for (const file of walk('src')) {
  const lines = readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');
  if (lines.length <= LIMIT) continue;
  if (lines.slice(0, 10).some((l) => REASON.test(l))) continue;
  problems.push(`${relative('.', file)}: ${lines.length} lines`);
}
if (problems.length) {
  console.error(
    `${problems.join('\n')}\n\nfiles in src/ hold at most ${LIMIT} lines: split by job, or say why near the top in a comment that starts "Over 400 lines:".`,
  );
  process.exit(1);
}
console.log(`files in src/ are at most ${LIMIT} lines, or say why`);
