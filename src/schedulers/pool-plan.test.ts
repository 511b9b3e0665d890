// The pool plan, case by case, worked out by hand: replicas are written newest first as `name:state`, with
// `!` for a noticed warming one and `*` for a frozen one whose pause has taken effect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PoolMember, type PoolOrder, PROCESS_ORDER, planPool } from './pool-plan.js';
import { countReplicas, type ReplicaState } from './replica-counts.js';

interface R extends PoolMember {
  readonly name: string;
  readonly noticed: boolean;
}

function replicas(spec: string): R[] {
  return spec
    .split(' ')
    .filter(Boolean)
    .map((word) => {
      const [name, raw] = word.split(':') as [string, string];
      const state = raw.replace(/[!*]$/, '') as ReplicaState;
      return { name, state, noticed: raw.endsWith('!'), paused: raw.endsWith('*') };
    });
}

type Named = { [K in 'keep' | 'thaw' | 'takeOver' | 'freeze' | 'stop' | 'remove']?: string } & {
  cold?: number;
  warm?: number;
};

function plan(spec: string, active: number, frozen: number | undefined, order?: PoolOrder): Named {
  const p = planPool(replicas(spec), active, frozen, { order, noticed: (r) => r.noticed });
  const out: Named = {};
  for (const k of ['keep', 'thaw', 'takeOver', 'freeze', 'stop', 'remove'] as const) {
    if (p[k].length > 0) out[k] = p[k].map((r) => r.name).join(' ');
  }
  if (p.cold > 0) out.cold = p.cold;
  if (p.warm > 0) out.warm = p.warm;
  return out;
}

const cases: [string, string, number, number | undefined, Named, PoolOrder?][] = [
  // No pool target: only the active count, the pool left as it is.
  [
    'no target, surplus stops newest first',
    'a:running b:starting c:running d:frozen',
    1,
    undefined,
    { stop: 'a b' },
  ],
  ['no target, missing start cold', 'a:running d:frozen e:warming', 3, undefined, { cold: 2 }],
  ['no target, stopping ones are not counted', 'a:stopping b:running', 1, undefined, {}],
  ['nothing to do', 'a:running b:frozen* c:warming', 1, 2, {}],
  // Scale-up with a pool: noticed first, then paused frozen, then frozen in flight, then warming.
  [
    'noticed warming kept before any thaw',
    'a:warming b:frozen* c:warming! d:running',
    2,
    3,
    { keep: 'c', warm: 1 },
  ],
  [
    'thaw paused ones first, newest first among them',
    'a:frozen b:frozen* c:frozen* d:running',
    3,
    3,
    { thaw: 'b c', warm: 2 },
  ],
  [
    'then frozen ones still being paused, then take over warming',
    'a:frozen b:warming c:frozen* d:warming',
    4,
    0,
    { thaw: 'c a', takeOver: 'b d' },
  ],
  [
    'what the pool lacks starts cold',
    'a:frozen* b:warming!',
    5,
    2,
    { keep: 'b', thaw: 'a', cold: 3, warm: 2 },
  ],
  // Scale-down with a pool: freeze while the pool is short, running ones first, stop the rest.
  [
    'running surplus frozen first, starting ones after',
    'a:starting b:running c:running d:running',
    1,
    2,
    { freeze: 'b c', stop: 'a' },
  ],
  ['a full pool means every surplus stops', 'a:running b:running c:frozen*', 1, 1, { stop: 'a' }],
  ['room for a starting one too', 'a:starting b:running c:running', 1, 2, { freeze: 'b a' }],
  ['freezing short of the target refills the rest', 'a:running b:running', 1, 3, { freeze: 'a', warm: 2 }],
  // The pool against its target.
  [
    'excess removed warming first, then newest frozen',
    'a:frozen* b:warming c:frozen* d:running e:warming!',
    1,
    1,
    { remove: 'b e a' },
  ],
  [
    'thawed ones leave the pool before the excess is reckoned',
    'a:frozen* b:frozen* c:frozen*',
    1,
    1,
    { thaw: 'a', remove: 'b' },
  ],
  ['pool to zero removes all of it', 'a:frozen b:warming c:running', 1, 0, { remove: 'b a' }],
  ['an empty pool is refilled', 'a:running', 1, 2, { warm: 2 }],
  // The process back-end's choices.
  [
    'process: thaw oldest first, never take over warming',
    'a:frozen* b:warming c:frozen* d:frozen*',
    4,
    1,
    { thaw: 'd c a', cold: 1 },
    PROCESS_ORDER,
  ],
  [
    'process: the oldest surplus freezes, the newest stop',
    'a:running b:starting c:running d:running',
    1,
    1,
    { freeze: 'c', stop: 'a b' },
    PROCESS_ORDER,
  ],
  ['process: missing ones start cold', 'a:warming b:running', 3, 1, { cold: 2 }, PROCESS_ORDER],
  [
    'process: noticed warming kept first, then the oldest frozen thawed',
    'a:warming! b:frozen c:warming d:frozen',
    3,
    2,
    { keep: 'a', thaw: 'd b', warm: 1 },
    PROCESS_ORDER,
  ],
  [
    'process: the excess goes warming first, then the newest frozen',
    'a:frozen b:warming c:frozen d:warming e:running',
    1,
    1,
    { remove: 'b d a' },
    PROCESS_ORDER,
  ],
  [
    'process: a removed service stops its oldest first (live given oldest first, pool newest first)',
    'c:running b:starting a:running d:frozen',
    0,
    undefined,
    { stop: 'c b a' },
    PROCESS_ORDER,
  ],
];

for (const [name, spec, active, frozen, want, order] of cases) {
  test(`pool plan: ${name}`, () => {
    assert.deepEqual(plan(spec, active, frozen, order), want);
  });
}

test('replica counts: configured services first, removed ones after, pool fields always or only when any', () => {
  const rs = [
    { service: 'old', as: 'running', noticed: false },
    { service: 'web', as: 'warming', noticed: true },
    { service: 'web', as: 'frozen', noticed: false },
    { service: 'web', as: 'warming', noticed: false },
  ] as const;
  const always = countReplicas(['web', 'batch'], rs, (r) => r, 'always');
  assert.deepEqual(
    [...always],
    [
      ['web', { running: 0, starting: 0, stopping: 0, frozen: 1, warming: 2, noticed: 1 }],
      ['batch', { running: 0, starting: 0, stopping: 0, frozen: 0, warming: 0 }],
      ['old', { running: 1, starting: 0, stopping: 0, frozen: 0, warming: 0 }],
    ],
  );
  const sparse = countReplicas(['web', 'batch'], rs, (r) => r, 'when-any');
  assert.deepEqual(sparse.get('batch'), { running: 0, starting: 0, stopping: 0 });
  assert.deepEqual(sparse.get('old'), { running: 1, starting: 0, stopping: 0 });
  assert.deepEqual(sparse.get('web'), {
    running: 0,
    starting: 0,
    stopping: 0,
    frozen: 1,
    warming: 2,
    noticed: 1,
  });
});
