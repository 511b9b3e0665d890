// The capacity guard: which live capacity reading is taken, as named cases and as properties over random
// sequences of readings.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Capacity } from '../core/types.js';
import { CapacityGuard, type CapacityReading } from './capacity-guard.js';

const CONFIRM = 30_000;
const r = (replicas: number, extra: Partial<Capacity> = {}): CapacityReading => ({
  capacity: { replicas, ...extra },
});

/** Feeds readings one second apart; returns the replicas in force after each, and the last problem. */
function run(readings: CapacityReading[], initial?: Capacity, stepMs = 1000) {
  const guard = new CapacityGuard(CONFIRM, initial);
  const inForce: (number | undefined)[] = [];
  let problem: string | undefined;
  readings.forEach((reading, i) => {
    const v = guard.read(i * stepMs, reading);
    inForce.push(v.capacity?.replicas);
    problem = v.problem;
  });
  return { inForce, problem };
}

describe('capacity guard: named cases', () => {
  test('the first good reading is taken; before it nothing is in force', () => {
    const { inForce, problem } = run([{ error: 'connect ECONNREFUSED' }, r(20)]);
    assert.deepEqual(inForce, [undefined, 20]);
    assert.equal(problem, undefined);
  });

  test('a failed reading holds the last good value and says so', () => {
    const { inForce, problem } = run([r(20), { error: 'GET /nodes: HTTP 503' }]);
    assert.deepEqual(inForce, [20, 20]);
    assert.match(problem ?? '', /could not be read: GET \/nodes: HTTP 503; holding 20 replicas/);
  });

  test('a rise is taken at once, with its reason', () => {
    const guard = new CapacityGuard(CONFIRM, { replicas: 14 });
    const v = guard.read(0, { capacity: { replicas: 20 }, why: 'node n3 ready' });
    assert.deepEqual(v.change, { from: { replicas: 14 }, to: { replicas: 20 }, why: 'node n3 ready' });
  });

  test('a drop of less than half is taken at once', () => {
    assert.deepEqual(run([r(20), r(14), r(10)]).inForce, [20, 14, 10]);
  });

  test('a drop to less than half is taken only once it has lasted the confirm time', () => {
    const readings = [r(20), ...Array.from({ length: 32 }, () => r(6))];
    const { inForce } = run(readings);
    // Suspected at t=1 s; 30 s later (t=31 s, the 32nd reading) it is taken.
    assert.equal(inForce.indexOf(6), 31);
    assert.ok(inForce.slice(0, 31).every((x) => x === 20));
  });

  test('a half-empty reading that recovers is never taken, and the wait starts again next time', () => {
    const readings = [
      r(20),
      ...Array.from({ length: 20 }, () => r(6)),
      r(20),
      ...Array.from({ length: 20 }, () => r(6)),
    ];
    assert.ok(run(readings).inForce.every((x) => x === 20));
  });

  test('0 is never taken, however long it lasts (an empty node list)', () => {
    const { inForce, problem } = run([r(20), ...Array.from({ length: 100 }, () => r(0, {}))]);
    assert.ok(inForce.every((x) => x === 20));
    assert.match(problem ?? '', /read as 0 replicas.*never taken; holding 20 replicas/);
  });

  test('cpu or memory to 0 is never taken either; to less than half waits', () => {
    const start: Capacity = { replicas: 20, cpu: 8, memory: 16 * 2 ** 30 };
    const guard = new CapacityGuard(CONFIRM, start);
    assert.match(guard.read(0, r(20, { cpu: 0, memory: start.memory })).problem ?? '', /0 cpu/);
    assert.match(
      guard.read(1000, r(20, { cpu: 8, memory: 2 ** 30 })).problem ?? '',
      /less than half the memory/,
    );
    assert.deepEqual(guard.capacity, start);
  });

  test('a reading that cannot be (negative, not a number) is refused', () => {
    const { inForce, problem } = run([r(20), r(Number.NaN), r(-3)]);
    assert.deepEqual(inForce, [20, 20, 20]);
    assert.match(problem ?? '', /cannot be/);
  });

  test('the same value again is no change', () => {
    const guard = new CapacityGuard(CONFIRM, { replicas: 20 });
    assert.equal(guard.read(0, r(20)).change, undefined);
  });
});

describe('capacity guard: properties', () => {
  const reading = fc.oneof(
    { weight: 1, arbitrary: fc.constant<CapacityReading>({ error: 'down' }) },
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }).map((n) => r(n)) },
  );

  test('in force is never 0, never a failed reading, and only ever a value some reading gave', () => {
    fc.assert(
      fc.property(
        fc.array(reading, { maxLength: 200 }),
        fc.integer({ min: 100, max: 10_000 }),
        (readings, step) => {
          const seen = new Set<number>();
          const guard = new CapacityGuard(CONFIRM);
          readings.forEach((x, i) => {
            if ('capacity' in x) seen.add(x.capacity.replicas);
            const v = guard.read(i * step, x);
            if (v.capacity === undefined) return;
            assert.ok(v.capacity.replicas > 0);
            assert.ok(seen.has(v.capacity.replicas));
          });
        },
      ),
    );
  });

  test('a drop to less than half is taken only after readings said less than half for the confirm time', () => {
    fc.assert(
      fc.property(
        fc.array(reading, { maxLength: 200 }),
        fc.integer({ min: 100, max: 10_000 }),
        (readings, step) => {
          const guard = new CapacityGuard(CONFIRM);
          let low: number | undefined; // since when every reading has been below half of what is in force
          readings.forEach((x, i) => {
            const now = i * step;
            const before = guard.capacity?.replicas;
            const after = guard.read(now, x).capacity?.replicas;
            const below = before !== undefined && 'capacity' in x && x.capacity.replicas < before / 2;
            if (!below) low = undefined;
            else low ??= now;
            if (before !== undefined && after !== undefined && after < before / 2) {
              assert.ok(low !== undefined && now - low >= CONFIRM, `taken ${after} from ${before} too soon`);
            }
          });
        },
      ),
    );
  });
});
