import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Issue, type IssueStyle, issueLines } from './issues.js';

const plain: IssueStyle = { prefix: ['scheduler'], unknown: () => 'unknown setting' };
const quoted: IssueStyle = {
  prefix: ['services', 'web'],
  join: (path) => path.map((k) => (String(k).includes('.') ? JSON.stringify(k) : String(k))).join('.'),
  unknown: (path) => (path[path.length - 1] === '<<' ? 'unknown key (merge)' : 'unknown key'),
  message: (issue) => (issue.code === 'invalid_type' ? 'required' : issue.message),
};

const cases: Array<[string, IssueStyle, Issue[], string[]]> = [
  ['a message at the prefix', plain, [{ code: 'custom', path: [], message: 'bad' }], ['scheduler: bad']],
  [
    'a nested path',
    plain,
    [{ code: 'too_small', path: ['a', 0, 'b'], message: 'must be ≥ 1' }],
    ['scheduler.a.0.b: must be ≥ 1'],
  ],
  [
    'a line per unknown key',
    plain,
    [{ code: 'unrecognized_keys', path: ['x'], message: 'm', keys: ['p', 'q'] }],
    ['scheduler.x.p: unknown setting', 'scheduler.x.q: unknown setting'],
  ],
  ['unknown keys with none listed', plain, [{ code: 'unrecognized_keys', path: [], message: 'm' }], []],
  [
    'issues in order',
    plain,
    [
      { code: 'custom', path: ['b'], message: '2' },
      { code: 'custom', path: ['a'], message: '1' },
    ],
    ['scheduler.b: 2', 'scheduler.a: 1'],
  ],
  [
    'the caller joins the path',
    quoted,
    [{ code: 'custom', path: ['env', 'A.B'], message: 'bad' }],
    ['services.web.env."A.B": bad'],
  ],
  [
    'the caller words the message',
    quoted,
    [{ code: 'invalid_type', path: ['min'], message: 'Invalid input' }],
    ['services.web.min: required'],
  ],
  [
    'the unknown text sees the key',
    quoted,
    [{ code: 'unrecognized_keys', path: [], message: 'm', keys: ['<<', 'x'] }],
    ['services.web.<<: unknown key (merge)', 'services.web.x: unknown key'],
  ],
];

for (const [name, style, issues, lines] of cases) {
  test(`issueLines: ${name}`, () => assert.deepEqual(issueLines(issues, style), lines));
}
