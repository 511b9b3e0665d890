// Enforces the layout of DESIGN.md: each folder of src/ imports only the folders (and packages) listed here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

const RULES = {
  core: { folders: [], packages: [] },
  planner: { folders: ['core'], packages: [] },
  controller: { folders: ['core', 'planner'], packages: [] },
  sources: { folders: ['core', 'infra'], packages: ['*'] },
  schedulers: { folders: ['core', 'infra'], packages: ['*'] },
  autoscale: { folders: ['core', 'infra'], packages: ['*'] },
  infra: { folders: ['core'], packages: [] },
  ha: { folders: ['core', 'controller', 'infra'], packages: ['ioredis', 'pg'] },
  config: { folders: ['core', 'sources', 'schedulers'], packages: ['zod', 'yaml'] },
  sim: { folders: ['core', 'planner', 'controller'], packages: [] },
  api: { folders: ['core', 'controller'], packages: [] },
  dashboard: { folders: ['core'], packages: [] },
  cli: { folders: ['*'], packages: ['*'] },
};

const root = resolve('src');
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const problems = [];
for (const file of walk(root)) {
  if (file.endsWith('.test.ts')) continue; // tests may reach for helpers anywhere
  const folder = relative(root, file).split(sep)[0];
  const rule = RULES[folder];
  if (!rule) {
    problems.push(`${relative('.', file)}: folder src/${folder} is not in the layout`);
    continue;
  }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('.')) {
      const target = relative(root, resolve(dirname(file), spec)).split(sep)[0];
      if (target !== folder && !rule.folders.includes('*') && !rule.folders.includes(target)) {
        problems.push(
          `${relative('.', file)}: imports src/${target} (${folder}/ may import ${rule.folders.join(', ') || 'nothing'})`,
        );
      }
    } else if (spec.startsWith('node:') || builtinModules.includes(spec)) {
      if (folder === 'core' || folder === 'planner' || folder === 'dashboard') {
        problems.push(`${relative('.', file)}: ${folder}/ must stay free of I/O but imports ${spec}`);
      }
    } else {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!rule.packages.includes('*') && !rule.packages.includes(pkg)) {
        problems.push(`${relative('.', file)}: imports package ${pkg}, not allowed in ${folder}/`);
      }
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('imports follow the layout');
