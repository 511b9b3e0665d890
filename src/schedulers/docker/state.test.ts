// The docker back-end's shared state without an engine: the replica table, watchers, and reachability.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.js';
import type { LogLevel } from '../../core/ports.js';
import type { SchedulerContext } from '../../core/registry.js';
import type { DockerApi } from '../../infra/docker-api.js';
import { DockerState } from './state.js';

function setup() {
  const clock = new ManualClock(1000);
  const logs: { level: LogLevel; message: string }[] = [];
  const ctx: SchedulerContext = {
    clock,
    logger: { log: (level, message) => logs.push({ level, message }) },
    instance: 'ms',
    services: [
      { name: 'web', run: { image: 'img' } },
      { name: 'batch', run: { image: 'img' } },
    ],
  };
  const state = new DockerState(ctx, { address: 'unix:///engine.sock' } as DockerApi);
  const told: string[] = [];
  state.watch((service) => told.push(service));
  return { clock, logs, state, told };
}

const fields = (name: string, id?: string) =>
  ({ name, id, service: 'web', state: 'starting', createdAt: 0, adopted: false }) as const;

describe('docker state: the replica table', () => {
  test('a record is found by name, and by id once it has one', () => {
    const { clock, state } = setup();
    const r = state.track(fields('a'));
    assert.equal(state.byName('a'), r);
    assert.equal(r.knownAt, 1000);
    clock.jump(5);
    state.setId(r, 'id-a');
    assert.equal(state.byId('id-a'), r);
    assert.equal(r.knownAt, 1005, 'known from when its id is');
    assert.equal(state.track(fields('b', 'id-b')).seq, r.seq + 1, 'records are numbered in order');
    assert.equal(state.byId('id-b')?.name, 'b');
  });

  test('drop forgets a record and tells watchers; a record no longer tracked is left alone', () => {
    const { state, told } = setup();
    const old = state.track(fields('a', 'id-1'));
    const current = state.track(fields('a', 'id-2'));
    assert.equal(state.tracks(old), false, 'the name now names another record');
    state.drop(old);
    assert.deepEqual(told, [], 'nothing happened');
    assert.equal(state.byName('a'), current);
    state.drop(current);
    assert.deepEqual(told, ['web']);
    assert.equal(state.byName('a'), undefined);
    assert.equal(state.byId('id-2'), undefined);
    assert.deepEqual([...state.each()], []);
  });

  test('a watcher that throws is logged, and the others are still told', () => {
    const { logs, state, told } = setup();
    state.watch(() => {
      throw new Error('boom');
    });
    state.notify('web');
    assert.deepEqual(told, ['web']);
    assert.deepEqual(logs, [{ level: 'error', message: 'watch subscriber failed: boom' }]);
  });
});

describe('docker state: reachability', () => {
  // Each step: what happens, then whether it is down (and why), what is logged, which services are told.
  const cases: {
    name: string;
    steps: ('up' | 'down:a' | 'down:b' | 'close')[];
    down: string | undefined;
    logs: string[];
    told: number;
  }[] = [
    { name: 'not connected at first', steps: [], down: 'not connected yet', logs: [], told: 0 },
    { name: 'the first listing says nothing', steps: ['up'], down: undefined, logs: [], told: 2 },
    {
      name: 'a break is logged once; its reason is kept current',
      steps: ['up', 'down:a', 'down:b'],
      down: 'b',
      logs: ['warn docker engine at unix:///engine.sock unreachable: a'],
      told: 4,
    },
    {
      name: 'back again is logged',
      steps: ['up', 'down:a', 'up'],
      down: undefined,
      logs: [
        'warn docker engine at unix:///engine.sock unreachable: a',
        'info docker engine at unix:///engine.sock reachable again',
      ],
      told: 6,
    },
    {
      name: 'closed: a break is not news',
      steps: ['up', 'close', 'down:a'],
      down: undefined,
      logs: [],
      told: 2,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { logs, state, told } = setup();
      for (const step of c.steps) {
        if (step === 'up') state.setUp();
        else if (step === 'close') state.close();
        else state.setDown(step.slice('down:'.length));
      }
      assert.equal(state.down?.error, c.down);
      assert.deepEqual(
        logs.map((l) => `${l.level} ${l.message}`),
        c.logs,
      );
      assert.equal(told.length, c.told);
    });
  }

  test('nextSync resolves at the next listing reconciled, or at close', async () => {
    const { state } = setup();
    const first = state.nextSync();
    state.setUp();
    await first;
    const second = state.nextSync();
    state.close();
    await second;
    assert.equal(state.signal.aborted, true);
    assert.equal(state.closed, true);
  });
});
