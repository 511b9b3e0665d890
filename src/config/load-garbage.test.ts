// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config strings hold ${NAME} references, not templates
// The config loader survives garbage (random values, text, edits, hostile YAML) with ConfigError only.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { FIXTURES, REMAINDER } from '../../test/fixtures/config/parse.js';
import { ConfigError } from '../core/errors.js';
import { loadConfig, type ParseOptions, parseConfig } from './load.js';

describe('garbage never throws anything but ConfigError', () => {
  /** Parses and returns normally or with a ConfigError that has at least one problem line. */
  function survives(text: string, options: ParseOptions = {}): void {
    try {
      parseConfig(text, { env: {}, ...options });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      assert.ok(error.problems.length > 0);
      for (const p of error.problems) assert.match(p, /^[^\n]+?: [^\n]+$/, p);
    }
  }

  test('any YAML value', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 6, withNullPrototype: true, withObjectString: true }), (value) => {
        survives(stringify(value, { aliasDuplicateObjects: false }));
      }),
      { numRuns: 300 },
    );
  });

  test('any text, as YAML and as JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        survives(text);
        survives(text, { file: 'x.json' });
      }),
      { numRuns: 300 },
    );
  });

  test('the example with random characters changed', async () => {
    const { readFileSync } = await import('node:fs');
    const example = readFileSync(join(FIXTURES, 'design-example.yaml'), 'utf8');
    const chars = fc.constantFrom(...'{}[]:,-#&*!|>\'"%@` \n\t0aZ.${');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(example.length - 1), chars), { minLength: 1, maxLength: 5 }),
        (edits) => {
          let text = example;
          for (const [at, c] of edits) text = text.slice(0, at) + c + text.slice(at + 1);
          survives(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('random config-shaped documents', () => {
    const scalar = fc.oneof(
      fc.integer({ min: -5, max: 50 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.string(),
      fc.constantFrom('1s', '64Mi', 'target', 'remainder', '${X}'),
    );
    const value = fc.oneof(
      scalar,
      fc.array(scalar, { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }),
    );
    const rule = fc.record(
      {
        type: fc.constantFrom('target', 'queue', 'remainder', 'fixed', 'x'),
        perReplica: value,
        replicas: value,
      },
      { requiredKeys: ['type'] },
    );
    const service = fc.record(
      {
        priority: value,
        min: value,
        max: value,
        run: fc.record({ command: value, cpu: value, memory: value }, { requiredKeys: [] }),
        demand: fc.record({ source: value, rule }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const config = fc.record(
      {
        name: value,
        capacity: fc.record({ replicas: value, cpu: value, memory: value }, { requiredKeys: [] }),
        interval: value,
        services: fc.dictionary(fc.constantFrom('web', 'batch', 'Bad_name', ''), service, { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(config, (doc) => survives(JSON.stringify(doc), { file: 'x.json' })),
      { numRuns: 500 },
    );
  });

  const hostile: Array<[string, string]> = [
    ['deep flow nesting', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
    ['deep map nesting', `a: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}`],
    ['deep block nesting', Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
    ['unclosed flow nesting', '['.repeat(20_000)],
    [
      'alias bomb',
      [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        ...Array.from(
          { length: 9 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(', ')}]`,
        ),
      ].join('\n'),
    ],
    ['alias loop', 'a: &a [*a]'],
    ['huge string', `name: "${'x'.repeat(1_000_000)}"`],
    [
      'many services',
      `capacity: { replicas: 1 }\nservices:\n${Array.from({ length: 1_000 }, (_, i) => `  s${i}: { demand: { rule: { type: remainder } } }`).join('\n')}`,
    ],
    ['binary tag', 'name: !!binary aGVsbG8=\ncapacity: { replicas: 1 }'],
    ['set and omap tags', 'capacity: !!set { a, b }\nservices: !!omap [ a: 1 ]'],
    ['complex keys', '? [a, b]\n: 1\n? { c: d }\n: 2'],
    [
      '__proto__ keys',
      `__proto__: { polluted: 1 }\ncapacity: { replicas: 1, __proto__: 2 }\nservices: { __proto__: { ${REMAINDER} } }`,
    ],
    ['many syntax errors', '"\n'.repeat(1_000)],
    ['NUL bytes', 'a: \0\0\0'],
  ];
  for (const [what, text] of hostile) {
    test(what, () => {
      survives(text);
      survives(text, { file: 'x.json' });
    });
  }

  test('nothing was polluted', () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a file written and loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'microscaler-config-'));
    const file = join(dir, 'garbage.yaml');
    writeFileSync(file, '\u0000\u0001: [');
    await assert.rejects(loadConfig(file), ConfigError);
  });
});
