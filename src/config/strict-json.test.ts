import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonSyntaxProblem } from './strict-json.js';

test('JSON is accepted; anything else gets a message and an offset within the text', () => {
  const jsonish = fc.stringMatching(/^[\s{}[\]",:'#a-z0-9.\-\\]{0,30}$/);
  fc.assert(
    fc.property(fc.oneof(fc.json(), jsonish, fc.string()), (text) => {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const problem = jsonSyntaxProblem(text);
      assert.equal(problem === undefined, valid, text);
      if (problem) {
        assert.ok(problem.offset >= 0 && problem.offset <= text.length, `${problem.offset}: ${text}`);
        assert.doesNotMatch(problem.message, /position|is not valid JSON/);
      }
    }),
    { numRuns: 2000 },
  );
});

test('where JSON.parse names no position, the scanner finds the token', () => {
  const cases: Array<[string, number]> = [
    ['# c\n{}', 0],
    ['{"a": yes}', 6],
    ['{"a": [1, NaN]}', 10],
    ['{"a": tru}', 6],
    [`${'['.repeat(50_000)}x`, 50_000],
  ];
  for (const [text, offset] of cases) assert.equal(jsonSyntaxProblem(text)?.offset, offset, text);
});

test('a control character JSON.parse quotes from the text is escaped: a problem stays one line', () => {
  for (const text of ['f\n', '\t', 'x\r\n', '\u0001']) {
    const problem = jsonSyntaxProblem(text);
    assert.ok(problem);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not be there
    assert.doesNotMatch(problem.message, /[\u0000-\u001f]/, JSON.stringify(problem.message));
  }
  assert.match(jsonSyntaxProblem('f\n')?.message ?? '', /Unexpected token '\\n'/);
});
