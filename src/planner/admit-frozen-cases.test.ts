// Admission with frozen and warm replicas (issue 9): a few cases spelled out, for the reader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admitFrozen, type FrozenAdmitService } from './admit-frozen.js';

const NONE = { running: 0, starting: 0, stopping: 0 };
const web = (o: Partial<FrozenAdmitService> = {}): FrozenAdmitService => ({
  name: 'web',
  priority: 1,
  resources: { cpu: 0, memory: 100 },
  desired: 19,
  need: 19,
  warm: 18,
  preempt: 'stop',
  observed: { running: 1, starting: 0, stopping: 0, frozen: 18 },
  ...o,
});
const batch = (o: Partial<FrozenAdmitService> = {}): FrozenAdmitService => ({
  name: 'batch',
  priority: 2,
  resources: { cpu: 0, memory: 100 },
  desired: 1,
  need: 20,
  preempt: 'freeze',
  observed: { running: 19, starting: 0, stopping: 0 },
  ...o,
});

test('admitFrozen: the benchmark step: batch freezes, then web thaws its warm pool', () => {
  // Capacity 20 replicas, no memory limit: batch is preempted from 19 to 1 and freezes 18 (need 20 - desired 1).
  const first = admitFrozen([web(), batch()], { replicas: 20 });
  assert.deepEqual(first.get('batch'), { replicas: 1, frozen: 18 });
  assert.equal(first.get('web'), undefined, 'no replica free before the freeze is observed');
  // Once observed frozen, the 18 replicas are free: web thaws 18 at once, and keeps nothing frozen.
  const second = admitFrozen(
    [web(), batch({ observed: { running: 1, starting: 0, stopping: 0, frozen: 18 } })],
    { replicas: 20 },
  );
  assert.deepEqual(second.get('web'), { replicas: 19, frozen: 0 });
  assert.equal(second.get('batch'), undefined);
});

test('admitFrozen: a cold start short of memory removes lower-priority frozen replicas first, and waits', () => {
  const capacity = { replicas: 20, memory: 1000 };
  const services = [
    web({ warm: 0, desired: 5, need: 5, observed: { running: 0, starting: 0, stopping: 0 } }),
    batch({ desired: 2, need: 8, observed: { running: 2, starting: 0, stopping: 0, frozen: 6 } }),
    batch({
      name: 'etl',
      priority: 3,
      desired: 0,
      need: 4,
      observed: { running: 0, starting: 0, stopping: 0, frozen: 2 },
    }),
  ];
  // 2 running + 8 frozen fill the 1000: web needs 500, etl's 2 go first, then 3 of batch's 6.
  const out = admitFrozen(services, capacity);
  assert.deepEqual(out.get('etl'), { replicas: 0, frozen: 0 });
  assert.deepEqual(out.get('batch'), { replicas: 2, frozen: 3 });
  assert.equal(out.get('web'), undefined, 'the cold start waits until the removed replicas are gone');
  // a service with a call in flight is no victim (its frozen replicas stay until its call is done)
  const old = batch({
    name: 'old',
    priority: 4,
    desired: 0,
    need: 0,
    warm: 5,
    observed: { running: 0, starting: 0, stopping: 0, frozen: 5 },
    inFlight: { replicas: 0, frozen: 5 },
  });
  const withOld = admitFrozen([...services, old], { ...capacity, memory: 1500 });
  assert.deepEqual([...withOld].sort(), [...out].sort());
  // a cold start that can never fit takes nothing, and leaves the memory to those after it
  const big = admitFrozen(
    [
      web({ warm: 0, desired: 1, need: 1, resources: { cpu: 0, memory: 2000 }, observed: NONE }),
      batch({ desired: 1, need: 1, observed: NONE }),
      batch({ name: 'etl', priority: 3, desired: 0, need: 0, warm: 5, observed: { ...NONE, frozen: 5 } }),
    ],
    capacity,
  );
  assert.deepEqual([...big], [['batch', { replicas: 1, frozen: 0 }]]);
  // a warm pool holds only memory nobody else needs: a lower priority's cold start takes a higher priority's
  // pool (last), rather than wait for it forever
  const reverse = admitFrozen(
    [
      web({ desired: 0, need: 0, warm: 8, observed: { running: 0, starting: 0, stopping: 0, frozen: 8 } }),
      batch({ desired: 5, need: 5, observed: { running: 2, starting: 0, stopping: 0 } }),
    ],
    capacity,
  );
  // 2 running + 8 frozen = 1000: batch's 3 cold starts need 300, so 3 of web's 8 go, and batch waits
  assert.deepEqual(reverse.get('web'), { replicas: 0, frozen: 5 });
  assert.equal(reverse.get('batch'), undefined);
});

test('admitFrozen: refill the warm pool only from capacity left over', () => {
  const out = admitFrozen(
    [
      web({ desired: 2, need: 2, warm: 5, observed: { running: 2, starting: 0, stopping: 0, frozen: 1 } }),
      batch({ desired: 10, need: 10, observed: { running: 10, starting: 0, stopping: 0 } }),
    ],
    { replicas: 20, memory: 1500 },
  );
  // 2 + 10 active, 1 frozen: 13 of 15 memory units used; room for 2 warming replicas
  assert.deepEqual(out.get('web'), { replicas: 2, frozen: 3 });
  const waiting = admitFrozen(
    [
      web({ desired: 2, need: 2, warm: 5, observed: { running: 2, starting: 0, stopping: 0, frozen: 1 } }),
      batch({ desired: 12, need: 12, observed: { running: 10, starting: 0, stopping: 1 } }),
    ],
    { replicas: 20, memory: 1500 },
  );
  assert.deepEqual(waiting.get('batch'), { replicas: 11, frozen: 0 });
  assert.equal(waiting.get('web'), undefined, 'no refill while batch waits');
});

test('admitFrozen: replicas a cold start waits for (memory being freed for it) are set aside from lower priorities', () => {
  const services = [
    web({ warm: 0, desired: 2, need: 2, observed: { running: 0, starting: 0, stopping: 0 } }),
    batch({ desired: 1, need: 4, observed: { running: 1, starting: 0, stopping: 0, frozen: 3 } }),
    batch({
      name: 'etl',
      priority: 3,
      desired: 2,
      need: 2,
      observed: { running: 0, starting: 0, stopping: 0, frozen: 2 },
    }),
  ];
  // memory is full (1 + 3 + 2 of 6): web's 2 cold starts take 2 of batch's 3 preempted frozen replicas, and
  // the 2 free replicas wait for web, so etl may not thaw into them now
  const out = admitFrozen(services, { replicas: 3, memory: 600 });
  assert.deepEqual(out.get('batch'), { replicas: 1, frozen: 1 });
  assert.equal(out.get('web'), undefined);
  assert.equal(out.get('etl'), undefined);
  // with room for both, etl thaws (no memory needed)
  assert.deepEqual(admitFrozen(services, { replicas: 5, memory: 600 }).get('etl'), {
    replicas: 2,
    frozen: 0,
  });
});

test('admitFrozen: own warming replicas are thawed once frozen, not doubled by cold starts', () => {
  const out = admitFrozen(
    [
      web({ desired: 5, need: 5, warm: 3, observed: { ...NONE, warming: 3 } }),
      batch({ priority: 2, desired: 0, need: 0, warm: 2, observed: { ...NONE, frozen: 2 } }),
    ],
    { replicas: 20, memory: 700 },
  );
  // 2 cold starts; the 3 warming ones stay in the pool target, to be thawed once frozen; and since they will
  // provide the other 3, batch's frozen replicas are not needed
  assert.deepEqual([...out], [['web', { replicas: 2, frozen: 3 }]]);
});

test('admitFrozen: a warm pool fills before a service that soaks up the rest grows, never from its running replicas', () => {
  const capacity = { replicas: 20 };
  const idle = { running: 0, starting: 0, stopping: 0 };
  // From nothing: web's one replica and 18 warming ones first; batch (remainder) gets what is left.
  const first = admitFrozen(
    [
      web({ desired: 1, need: 1, observed: idle }),
      batch({ desired: 19, need: 19, soaks: true, observed: idle }),
    ],
    capacity,
  );
  assert.deepEqual(first.get('web'), { replicas: 1, frozen: 18 });
  assert.deepEqual(first.get('batch'), { replicas: 1, frozen: 0 });
  // Once the pool is frozen (memory only), batch takes the rest.
  const then = admitFrozen(
    [
      web({ desired: 1, need: 1, observed: { ...idle, running: 1, frozen: 18 } }),
      batch({ desired: 19, need: 19, soaks: true, observed: { ...idle, running: 1 } }),
    ],
    capacity,
  );
  assert.equal(then.get('web'), undefined);
  assert.deepEqual(then.get('batch'), { replicas: 19, frozen: 0 });
  // A pool that lost replicas does not take them from batch's running ones: it refills only from what is free.
  const lost = admitFrozen(
    [
      web({ desired: 1, need: 1, observed: { ...idle, running: 1, frozen: 10 } }),
      batch({ desired: 19, need: 19, soaks: true, observed: { ...idle, running: 19 } }),
    ],
    capacity,
  );
  assert.equal(lost.size, 0);
  // A service that needs capacity (not soaking the rest) holds refills back.
  const needy = admitFrozen(
    [
      web({ desired: 1, need: 1, observed: idle }),
      batch({ desired: 19, need: 19, soaks: false, observed: idle }),
    ],
    capacity,
  );
  assert.deepEqual(needy.get('web'), { replicas: 1, frozen: 0 });
  assert.deepEqual(needy.get('batch'), { replicas: 19, frozen: 0 });
});

test('admitFrozen: a replica still in its freeze notice grace is taken back when its service grows again, at no cost', () => {
  // batch was preempted by web (1 replica told of its freeze, in its grace, counted as warming); web's
  // demand is gone again before the freeze: batch grows back at once, into the replica it still has.
  const services = [
    web({ desired: 0, need: 0, observed: { ...NONE } }),
    batch({
      priority: 2,
      desired: 3,
      need: 3,
      preempt: 'freeze',
      observed: { ...NONE, running: 2, warming: 1, noticed: 1 },
    }),
  ];
  // Capacity is full (3 of 3): taking it back needs no room, and nothing is thawed or cold-started.
  assert.deepEqual(admitFrozen(services, { replicas: 3 }).get('batch'), { replicas: 3, frozen: 0 });
  // Without the notice (a warming replica on its way to be frozen), it waits for the freeze, then thaws.
  const waiting = services.map((s) =>
    s.name === 'batch' ? { ...s, observed: { ...NONE, running: 2, warming: 1 } } : s,
  );
  assert.equal(admitFrozen(waiting, { replicas: 3 }).get('batch'), undefined);
});
