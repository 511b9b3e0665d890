// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${NAME} references, not templates
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_DEPTH, substituteEnv } from './env.js';

const env = { HOST: 'db.local', PORT: '6379', EMPTY: '', DOLLAR: '${HOST}' };

const run = (value: unknown) => substituteEnv(value, env);

describe('substituteEnv', () => {
  const cases: Array<{ name: string; input: string; output: string; problems?: string[] }> = [
    { name: 'a whole value', input: '${HOST}', output: 'db.local' },
    { name: 'inside a string', input: 'redis://${HOST}:${PORT}/0', output: 'redis://db.local:6379/0' },
    { name: 'an empty variable counts as set', input: 'a${EMPTY}b', output: 'ab' },
    { name: 'values are not scanned again', input: '${DOLLAR}', output: '${HOST}' },
    { name: '$${ is a literal ${', input: 'pa$${HOST}ss', output: 'pa${HOST}ss' },
    { name: 'a lone $ stays', input: 'cost: $5, $HOST', output: 'cost: $5, $HOST' },
    {
      name: 'an unset variable is a problem, once per name',
      input: '${NOPE}-${NOPE}-${ALSO_NOPE}',
      output: '${NOPE}-${NOPE}-${ALSO_NOPE}',
      problems: ['x: environment variable NOPE is not set', 'x: environment variable ALSO_NOPE is not set'],
    },
    {
      name: 'a malformed reference is a problem',
      input: '${ HOST }',
      output: '${ HOST }',
      problems: ['x: "${" must start a reference like ${NAME} (write $${ for a literal "${")'],
    },
    {
      name: 'an unclosed reference is a problem',
      input: 'a${HOST',
      output: 'a${HOST',
      problems: ['x: "${" must start a reference like ${NAME} (write $${ for a literal "${")'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = run({ x: c.input });
      assert.deepEqual(result.value, { x: c.output });
      assert.deepEqual(result.problems, c.problems ?? []);
    });
  }

  test('reaches every string in maps and lists, not keys, and copies', () => {
    const input = { '${HOST}': { list: ['${PORT}', 1, true, null, { deep: '${HOST}' }] } };
    const result = run(input);
    assert.deepEqual(result.value, { '${HOST}': { list: ['6379', 1, true, null, { deep: 'db.local' }] } });
    assert.deepEqual(result.problems, []);
    assert.equal(input['${HOST}'].list[0], '${PORT}', 'the input is not changed');
  });

  test('paths name the field, with list indexes', () => {
    assert.deepEqual(run({ a: { b: ['ok', '${MISSING}'] } }).problems, [
      'a.b.1: environment variable MISSING is not set',
    ]);
  });

  test('a __proto__ key stays a plain key', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "${HOST}"}}');
    const { value } = run(input);
    assert.deepEqual(Object.keys(value as object), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
  });

  test('alias loops and deep nesting are problems, not crashes', () => {
    const loop: unknown[] = [];
    loop.push(loop);
    assert.deepEqual(run({ a: loop }).problems, ['a.0: refers to itself (a YAML alias loop)']);

    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const { problems } = run(deep);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', new RegExp(`nested more than ${MAX_DEPTH} levels deep$`));
  });
});
