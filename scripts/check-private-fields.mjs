// One private-field style across src/ (issue 14): `private x`, never an ECMAScript `#x` class member.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.[cm]?[jt]sx?$/.test(p) ? [p] : [];
  });
}

// A member declared as `#x` (after any modifiers) at the start of a line, or used as `.#x` / `#x in`.
const DECLARED = /^\s*(?:(?:static|readonly|async|get|set|accessor|override)\s+)*(?:\*\s*)?#[A-Za-z_$][\w$]*/;
const USED = /\.#[A-Za-z_$]|(?:^|[\s(!&|])#[A-Za-z_$][\w$]*\s+in\s/;

const problems = [];
for (const file of walk('src')) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (DECLARED.test(code) || USED.test(code)) {
      problems.push(`${relative('.', file)}:${i + 1}: ${line.trim()}`);
    }
  });
}
if (problems.length) {
  console.error(
    `${problems.join('\n')}\n\n#name class fields are not used in src/: write \`private name\` instead (one private-field style, issue 14).`,
  );
  process.exit(1);
}
console.log('private fields use `private`');
