// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config strings hold ${NAME} references, not templates
// Hostile config files: random bytes and text, valid configs mutated at random paths, deep nesting, alias
// bombs, huge and endless files, duplicate keys, `${ENV}` edge cases. Each load must end quickly, with a
// ConfigError (never anything else) whose lines are all `path: problem`, or with a config whose every value
// is within its documented bounds. A handful also go through the real CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  loadConfig,
  MAX_CONFIG_BYTES,
  MAX_PROBLEMS,
  type ParseOptions,
  parseConfig,
} from '../../src/config/load.js';
import { MAX_DURATION_MS, SERVICE_NAME } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Config } from '../../src/core/types.js';

const work = mkdtempSync(join(tmpdir(), 'microscaler-hostile-config-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Time bounds. A hang or a quadratic blow-up takes minutes (the YAML parser's own duplicate-key check took
 * 12 s for 20,000 keys, four minutes for a 1 MiB file), so the bounds are loose enough for a busy 2-core CI
 * machine: the worst documents just under MAX_CONFIG_BYTES took 2.8-6.5 s at load 7-9 on 2 cores (0.5-1 s
 * idle); everything else, including files of tens of MB (refused unread), takes well under a second.
 */
const QUICK_MS = 2_000;
const WORST_MS = 15_000;

/** A line the user can act on: `path: problem`, one line, no stack, no "[object Object]", not endless. */
function checkProblems(problems: readonly string[]): void {
  assert.ok(problems.length > 0, 'a ConfigError without problems');
  assert.ok(problems.length <= MAX_PROBLEMS + 1, `${problems.length} problem lines`);
  for (const p of problems) {
    assert.match(p, /^[^\n]+?: [^\n]+$/, `not a "path: problem" line: ${JSON.stringify(p)}`);
    assert.doesNotMatch(p, /\[object |\bat .+:\d+:\d+|undefined: |^: /, p);
    assert.ok(p.length < 500, `a problem line of ${p.length} characters`);
  }
}

/** Every value of an accepted config is within its documented bounds. */
function checkAccepted(config: Config): void {
  const count = (n: number, min: number) => Number.isSafeInteger(n) && n >= min;
  assert.ok(count(config.capacity.replicas, 1));
  for (const n of [config.intervalMs, config.readTimeoutMs]) assert.ok(n > 0 && n <= MAX_DURATION_MS);
  for (const s of config.services) {
    assert.match(s.name, SERVICE_NAME);
    assert.ok(count(s.priority, 1) && count(s.min, 0) && count(s.max, 0) && s.min <= s.max, s.name);
    assert.ok(Number.isFinite(s.resources.cpu) && s.resources.cpu >= 0);
    assert.ok(Number.isFinite(s.resources.memory) && s.resources.memory >= 0);
    assert.ok(s.scaleDownWindowMs >= 0 && s.scaleDownWindowMs <= MAX_DURATION_MS);
  }
}

/** Parses `text`; returns the problems (empty when accepted). Fails on anything but a ConfigError, or slowness. */
function load(text: string, options: ParseOptions = {}, boundMs = QUICK_MS): readonly string[] {
  const started = performance.now();
  let problems: readonly string[] = [];
  try {
    checkAccepted(parseConfig(text, { env: {}, ...options }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checkProblems(error.problems);
    problems = error.problems;
  }
  const ms = performance.now() - started;
  assert.ok(ms < boundMs, `took ${Math.round(ms)} ms (bound ${boundMs} ms): ${text.slice(0, 80)}`);
  return problems;
}

/** As YAML and as JSON. */
function loadBoth(text: string, boundMs = QUICK_MS): void {
  load(text, {}, boundMs);
  load(text, { file: 'hostile.json' }, boundMs);
}

const VALID = {
  name: 'shop',
  capacity: { replicas: 20, cpu: 8, memory: '16Gi' },
  interval: '100ms',
  readTimeout: '1s',
  scheduler: { type: 'process' },
  api: { token: 'secret' },
  services: {
    web: {
      priority: 1,
      min: 1,
      max: 18,
      scaleDownWindow: '2s',
      run: {
        command: ['sleep', '3600'],
        env: { A: 'b' },
        cwd: '.',
        cpu: 0.25,
        memory: '64Mi',
        stopGrace: '5s',
      },
      demand: {
        source: { type: 'push', maxAge: '1m' },
        rule: { type: 'target', perReplica: 10, activation: 1 },
      },
    },
    batch: {
      priority: 2,
      min: 0,
      max: 20,
      run: { command: ['sleep', '3600'] },
      demand: { rule: { type: 'fixed', replicas: 3 } },
    },
    queue: {
      priority: 3,
      demand: {
        source: { type: 'static', value: 1 },
        rule: { type: 'queue', perReplicaRate: 5, drainSeconds: 10 },
      },
    },
  },
};

/** Values that break configs: huge, negative, fractional, NaN-ish, empty, odd characters, wrong types. */
const HOSTILE_VALUES: readonly unknown[] = [
  1e308,
  -1e308,
  2 ** 53 + 1,
  -(2 ** 53) - 1,
  2 ** 31,
  -1,
  -0.5,
  0.5,
  1.000001,
  0,
  -0,
  'NaN',
  '.nan',
  'Infinity',
  '-.inf',
  '1e999',
  '0x10',
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '../../etc/passwd',
  '/etc/passwd',
  'a/b',
  'a\\b',
  'a;rm -rf x',
  '$(touch /tmp/x)',
  '`id`',
  '${NOT_SET}',
  '${',
  '$${X}',
  '\u202eevil',
  'web\u200b',
  'ünïcödé',
  '🚀',
  '\ud800',
  'x'.repeat(100_000),
  '1s'.repeat(1000),
  '999999999999999999999h',
  '-5s',
  '1e308Gi',
  '-64Mi',
  null,
  true,
  [],
  [[[[[]]]]],
  {},
  { __proto__: { polluted: 1 } },
];

/** Every path into a plain JSON value (maps and lists), the root excluded. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...paths(child, [...prefix, key])]);
}

function setAt(doc: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  node[last] = value;
  return copy;
}

function renameKey(doc: unknown, path: (string | number)[], name: string): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = String(path[path.length - 1]);
  if (Array.isArray(node)) return copy;
  const renamed = Object.fromEntries(Object.entries(node).map(([k, v]) => [k === last ? name : k, v]));
  for (const k of Object.keys(node)) delete node[k];
  Object.assign(node, renamed);
  return copy;
}

describe('random input never gets past the loader as anything but a ConfigError or a sound config', () => {
  test('the valid config itself loads (as YAML and as JSON)', () => {
    assert.deepEqual(load(stringify(VALID)), []);
    assert.deepEqual(load(JSON.stringify(VALID), { file: 'valid.json' }), []);
  });

  test('random bytes, as YAML and as JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), (bytes) =>
        loadBoth(Buffer.from(bytes).toString('utf8')),
      ),
      { numRuns: 300 },
    );
  });

  test('random unicode text and YAML-ish text', () => {
    const yamlish = fc.string({
      unit: fc.constantFrom(...'{}[]:,-?#&*!|>\'"%@`~ \n\t0a.$\\'.split(''), '${A}', 'services:', '  '),
      maxLength: 300,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 500 }),
          fc.string({ unit: 'binary', maxLength: 500 }),
          yamlish,
        ),
        (text) => loadBoth(text),
      ),
      { numRuns: 400 },
    );
  });

  test('a valid config with one value replaced at a random path by a hostile one', () => {
    const all = paths(VALID);
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.constantFrom(...HOSTILE_VALUES), (path, value) => {
        const doc = setAt(VALID, path, value);
        load(JSON.stringify(doc), { file: 'mutated.json' });
        load(stringify(doc));
      }),
      { numRuns: 600 },
    );
  });

  test('a valid config with several values replaced, and keys renamed to hostile names', () => {
    const all = paths(VALID);
    const names = fc.constantFrom(...HOSTILE_VALUES.filter((v): v is string => typeof v === 'string'));
    const edit = fc.oneof(
      fc.tuple(fc.constant('set' as const), fc.constantFrom(...all), fc.constantFrom(...HOSTILE_VALUES)),
      fc.tuple(fc.constant('rename' as const), fc.constantFrom(...all), names),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let doc: unknown = VALID;
        for (const [kind, path, value] of edits) {
          try {
            doc = kind === 'set' ? setAt(doc, path, value) : renameKey(doc, path, value as string);
          } catch {
            // an earlier edit replaced a parent of this path: skip it
          }
        }
        load(JSON.stringify(doc), { file: 'mutated.json' });
        load(stringify(doc));
      }),
      { numRuns: 300 },
    );
  });

  test('services named with path separators, shell syntax, NUL, unicode: refused at validation', () => {
    for (const name of [
      '../../etc/passwd',
      'a/b',
      '..',
      '.',
      'a;rm -rf x',
      '$(touch x)',
      'a\u0000b',
      'wéb',
      'WEB',
      '-web',
      'a'.repeat(64),
      '',
    ]) {
      const problems = load(JSON.stringify(renameKey(VALID, ['services', 'web'], name)), { file: 'x.json' });
      assert.ok(
        problems.some((p) => p.includes('service names must be')),
        `${JSON.stringify(name)} accepted: ${problems.join('\n')}`,
      );
    }
  });
});

describe('hostile documents', () => {
  const deep: Array<[string, string]> = [
    ['10,000 levels of [', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    ['10,000 levels of {', `${'{'.repeat(10_000)}${'}'.repeat(10_000)}`],
    ['10,000 levels of {"a":', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
    ['10,000 unclosed [{', '[{'.repeat(5_000)],
    ['10,000 levels of block sequences on one line', `${'- '.repeat(10_000)}x`],
    ['10,000 levels of explicit keys', `${'? '.repeat(10_000)}x`],
  ];
  for (const [what, text] of deep) {
    test(what, () => {
      const problems = load(text);
      assert.match(problems.join('\n'), /nested more than 64 levels deep/);
      load(text, { file: 'deep.json' });
    });
  }

  test('deep nesting, again and again in one process (V8 once died outright on the second overflow)', () => {
    for (let i = 0; i < 6; i++)
      loadBoth(i % 2 ? '{'.repeat(10_000) : `${'['.repeat(10_000)}${']'.repeat(10_000)}`);
  });

  test('a billion laughs: alias expansion is refused', () => {
    const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) {
      const [prev, self] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      levels.push(`${self}: &${self} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    assert.match(load(levels.join('\n')).join('\n'), /alias/i);
  });

  test('alias loops and aliases nested through each other', () => {
    load('a: &a [*a]');
    load('a: &a { b: *a }\ncapacity: *a');
    const chain = Array.from({ length: 500 }, (_, i) => `k${i}: &k${i} [${i ? `*k${i - 1}` : 'x'}]`).join(
      '\n',
    );
    load(chain);
  });

  test('duplicate keys: a clear line each, at any depth, in YAML and JSON', () => {
    assert.deepEqual(load('capacity: { replicas: 1 }\ncapacity: { replicas: 2 }'), [
      'config: line 2, column 1: duplicate key "capacity"',
    ]);
    assert.deepEqual(load('{"capacity": {"replicas": 1, "replicas": 2}}', { file: 'x.json' }), [
      'config: line 1, column 30: duplicate key "replicas"',
    ]);
    // 1 and "1" are the same key once loaded.
    assert.deepEqual(load('services: { 1: a, "1": b }'), ['config: line 1, column 19: duplicate key "1"']);
  });

  test('a second YAML document is refused, not silently ignored', () => {
    assert.deepEqual(load(`${stringify(VALID)}---\ncapacity: { replicas: 1 }\n`).length, 1);
    assert.match(load(`${stringify(VALID)}---\n`)[0] ?? '', /second document/);
  });

  test('${ENV} edge cases: a clear line each, never a substitution loop', () => {
    const env = { A: '${A}', B: '${B', EMPTY: '', BIG: 'x'.repeat(100_000), NUL: '\u0000' };
    const name = (value: string) =>
      load(
        `name: ${JSON.stringify(value)}\ncapacity: { replicas: 1 }\nservices: { w: { demand: { rule: { type: remainder } } } }`,
        { env },
      );
    assert.deepEqual(name('${A}'), [
      'name: must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit, got "${A}"',
    ]);
    for (const value of [
      '${}',
      '${ A }',
      '${1A}',
      '${A',
      '${${A}}',
      '$${',
      '${B}${',
      '${EMPTY}',
      '${BIG}',
      '${NUL}',
      '${UNSET}',
      '${A}'.repeat(10_000),
    ]) {
      assert.ok(name(value).length > 0, value);
    }
    assert.deepEqual(name('$${A}'), [
      'name: must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit, got "${A}"',
    ]);
  });

  test('a flood of problems is cut at MAX_PROBLEMS lines and says how many more', () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `k${i}: 1`).join('\n');
    const problems = load(keys);
    assert.equal(problems.length, MAX_PROBLEMS + 1);
    assert.match(problems.at(-1) ?? '', /^config: \d+ more problems not shown$/);
  });

  test('text over MAX_CONFIG_BYTES is refused unparsed, however big', () => {
    for (const size of [MAX_CONFIG_BYTES + 1, 30 * 1024 * 1024]) {
      assert.deepEqual(load(`name: "${'x'.repeat(size)}"`), ['config: the file is larger than 256 KiB']);
    }
    // Multi-byte characters count as bytes.
    assert.equal(load(`#${'é'.repeat(MAX_CONFIG_BYTES / 2)}`).length, 1);
  });

  const worst: Array<[string, (size: number) => string]> = [
    ['a syntax error on every line', (n) => '- a\nb: c\n'.repeat(n / 8)],
    ['a flow list of numbers', (n) => `[${'1,'.repeat(n / 2 - 2)}1]`],
    ['one key repeated', (n) => 'k: 1\n'.repeat(n / 5)],
    ['flow brackets', (n) => '['.repeat(n)],
  ];
  for (const [what, make] of worst) {
    test(`just under the size limit: ${what}`, () => {
      const text = make(MAX_CONFIG_BYTES - 16).slice(0, MAX_CONFIG_BYTES);
      assert.ok(text.length > MAX_CONFIG_BYTES * 0.9);
      load(text, {}, WORST_MS);
    });
  }
});

describe('files', () => {
  test('a 50 MB file is refused without reading it all', async () => {
    const path = join(work, 'huge.yaml');
    const fd = openSync(path, 'w');
    const block = Buffer.alloc(1024 * 1024, 'a: 1\n');
    for (let i = 0; i < 50; i++) writeSync(fd, block);
    closeSync(fd);
    const started = performance.now();
    await assert.rejects(loadConfig(path, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, ['config: the file is larger than 256 KiB']);
      return true;
    });
    assert.ok(performance.now() - started < QUICK_MS);
  });

  test('an endless file (/dev/zero) is refused, not read forever', async () => {
    const started = performance.now();
    await assert.rejects(loadConfig('/dev/zero', {}), /larger than 256 KiB/);
    assert.ok(performance.now() - started < QUICK_MS);
  });

  test('a directory, a missing file, a file that is not UTF-8', async () => {
    await assert.rejects(loadConfig(work, {}), /cannot read .*: it is a directory/);
    await assert.rejects(loadConfig(join(work, 'nope.yaml'), {}), /cannot read .*: no such file/);
    const latin1 = join(work, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0xff, 0x0a]));
    await assert.rejects(loadConfig(latin1, {}), ConfigError);
  });
});

describe('the CLI: exit 2 with the problem lines, never a stack trace', () => {
  const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
  function validate(path: string): Promise<{ code: number | null; out: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'validate', '-c', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
  }

  const files: Array<[string, string | Buffer, RegExp]> = [
    ['deep.yaml', '{'.repeat(50_000), /nested more than 64 levels deep/],
    [
      'bomb.yaml',
      'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      /alias/i,
    ],
    ['huge.yaml', `name: "${'x'.repeat(2 * MAX_CONFIG_BYTES)}"`, /larger than 256 KiB/],
    ['binary.json', Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b, 0x5b]), /^config: line \d+, column \d+: /m],
    ['dup.json', '{"capacity": {"replicas": 1}, "capacity": 2}', /duplicate key "capacity"/],
    [
      'names.yaml',
      'capacity: { replicas: 1 }\nservices: { "../../x": { demand: { rule: { type: remainder } } } }',
      /service names must be/,
    ],
  ];
  for (const [name, content, expected] of files) {
    test(name, async () => {
      const path = join(work, name);
      writeFileSync(path, content);
      const { code, out } = await validate(path);
      assert.equal(code, 2, out);
      assert.match(out, expected);
      assert.doesNotMatch(out, /^\s+at |Error:|\[object /m, out);
    });
  }
});

describe('the CLI: ordinary mistakes get a clear line, surprises a warning', () => {
  const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
  function cli(args: string[]): {
    child: ReturnType<typeof spawn>;
    done: Promise<{ code: number | null; out: string; err: string }>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    return {
      child,
      done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err }))),
    };
  }
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };
  const services = (first: string, second: string) => `services:
  web:
    priority: 1
    min: ${first}
    run: { command: [sleep, "300"], stopGrace: 1s, cpu: 1 }
    demand: { source: { type: static, value: 0 }, rule: { type: target, perReplica: 10 } }
  batch:
    priority: 2
    min: ${second}
    run: { command: [sleep, "300"], stopGrace: 1s, cpu: 1 }
    demand: { rule: { type: remainder } }
`;

  test('YAML merge keys are merged, and an x- key holds the anchor', async () => {
    const path = file(
      'merge.yaml',
      `x-replica: &replica { command: [sleep, "300"], stopGrace: 1s }
capacity: { replicas: 4 }
services:
  web: &web
    priority: 1
    run: *replica
    demand: { rule: { type: fixed, replicas: 1 } }
  api: { <<: *web, priority: 2 }
`,
    );
    const { code, out, err } = await cli(['validate', '-c', path]).done;
    assert.equal(code, 0, err);
    assert.match(out, /ok: 2 services/);
  });

  const json = (text: string) => file(`strict-${Math.random().toString(36).slice(2)}.json`, text);
  const GOOD_JSON =
    '{\n  "capacity": {"replicas": 2},\n  "services": {"web": {"demand": {"rule": {"type": "remainder"}}}}\n}';
  for (const [what, text, expected] of [
    ['a trailing comma', GOOD_JSON.replace('2}', '2,}'), /^config: line 2, column 30: not valid JSON: /],
    [
      'a # comment',
      `# shop\n${GOOD_JSON}`,
      /^config: line 1, column 1: not valid JSON: Unexpected token '#'$/,
    ],
    [
      'single quotes',
      GOOD_JSON.replace('"type"', "'type'"),
      /^config: line 3, column 44: not valid JSON: Expected property name/,
    ],
  ] as const) {
    test(`.json with ${what}: exit 2 with the line and column`, async () => {
      const { code, err } = await cli(['validate', '-c', json(text)]).done;
      assert.equal(code, 2, err);
      assert.match(err.trim(), expected);
    });
  }

  test('1m1m is not a duration', async () => {
    const path = file('twice.yaml', `interval: 1m1m\ncapacity: { replicas: 1 }\n${services('0', '0')}`);
    const { code, err } = await cli(['validate', '-c', path]).done;
    assert.equal(code, 2, err);
    assert.match(err, /^interval: must be a duration like 100ms, 2s or 5m, got "1m1m"$/m);
  });

  test('a random source with a negative min is refused at validation', async () => {
    const text = `capacity: { replicas: 2 }
services:
  web:
    demand: { source: { type: random, min: -5, max: 5 }, rule: { type: target, perReplica: 1 } }
`;
    const { code, err } = await cli(['validate', '-c', file('negative.yaml', text)]).done;
    assert.equal(code, 2, err);
    assert.match(
      err.trim(),
      /^services\.web\.demand\.source\.min: must be ≥ 0 \(a demand is never negative\)/,
    );
  });

  const WARNING =
    /warning: services: the mins of web \(2\), batch \(2\) add up to 4 replicas, more than capacity.replicas \(3\)/;
  test('mins over the capacity: validate warns, naming the services and the sum, and exits 0', async () => {
    const path = file('mins.yaml', `capacity: { replicas: 3, cpu: 3 }\n${services('2', '2')}`);
    const { code, out, err } = await cli(['validate', '-c', path]).done;
    assert.equal(code, 0, err);
    assert.match(out, /ok: 2 services/);
    assert.match(err, WARNING);
    assert.match(err, /the mins of web \(2\), batch \(2\) add up to 4 cpu, more than capacity.cpu \(3\)/);
    const fits = file('mins-fit.yaml', `capacity: { replicas: 4 }\n${services('2', '2')}`);
    assert.equal((await cli(['validate', '-c', fits]).done).err, '');
  });

  test('mins over the capacity: run warns when it starts', async () => {
    const state = join(work, 'state-mins');
    const path = file(
      'mins-run.yaml',
      `name: hostile-mins-${process.pid}\ncapacity: { replicas: 3 }\nscheduler: { type: process, stateDir: ${state} }\n${services('2', '2')}`,
    );
    const run = cli(['run', '-c', path, '--listen', '127.0.0.1:0', '--stop-on-exit']);
    let err = '';
    run.child.stderr?.on('data', (d) => {
      err += d;
    });
    const deadline = Date.now() + 30_000;
    while (!/\bwarn\b.*mins of/.test(err) && Date.now() < deadline && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.match(result.err, /mins\.yaml|mins-run\.yaml/);
    assert.match(
      result.err,
      /the mins of web \(2\), batch \(2\) add up to 4 replicas, more than capacity.replicas \(3\)/,
    );
    assert.equal(result.code, 0, result.err);
  });
});
