// Admission with frozen and warm replicas (issue 9), as properties over thousands of random inputs. The
// back-end is modelled here independently of admit-frozen.ts, from the scheduler contract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Capacity } from '../core/types.js';
import { type AdmitService, admit } from './admit.js';
import { admitFrozen, type FrozenAdmitService, type FrozenTarget } from './admit-frozen.js';

const RUNS = 2000;
const EPS = 1e-9;

interface Case {
  capacity: Capacity;
  services: FrozenAdmitService[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    // capacity: mostly what is occupied now plus or minus a little (where admission has choices to make)
    relative: fc.constantFrom(true, true, true, false),
    replicas: fc.integer({ min: 0, max: 50 }),
    slack: fc.integer({ min: -3, max: 12 }),
    cpu: fc.option(fc.constantFrom(1, 2.5, 4, 8, 16), { nil: undefined }),
    memory: fc.option(fc.constantFrom(256, 1024, 2048, 4096, 8192), { nil: undefined }),
    services: fc.array(
      fc.record({
        priority: fc.integer({ min: 1, max: 4 }),
        cpu: fc.constantFrom(0, 0.1, 0.25, 0.5, 1, 2),
        memory: fc.constantFrom(0, 64, 256, 1024),
        // desired relative to what is active: shrinking, steady or growing
        delta: fc.integer({ min: -6, max: 8 }),
        extra: fc.integer({ min: -3, max: 10 }),
        warm: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 })),
        preempt: fc.constantFrom('stop' as const, 'freeze' as const),
        // one service in three soaks up what is left (a remainder rule)
        soaks: fc.constantFrom(false, false, true),
        running: fc.integer({ min: 0, max: 10 }),
        starting: fc.integer({ min: 0, max: 2 }),
        stopping: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
        frozen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })),
        warming: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3 })),
        // of the warming ones, some may still run in a freeze notice's grace (taken back at no cost)
        noticed: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3 })),
        // a call in flight for one service in five
        inFlight: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 4 },
          {
            arbitrary: fc.record({
              replicas: fc.integer({ min: 0, max: 12 }),
              frozen: fc.integer({ min: 0, max: 8 }),
            }),
            weight: 1,
          },
        ),
      }),
      { minLength: 1, maxLength: 8, size: 'max' },
    ),
  })
  .map(({ relative, replicas, slack, cpu, memory, services }) => {
    const list: FrozenAdmitService[] = services.map((s, i) => ({
      name: `s${i}`,
      priority: s.priority,
      // when capacity has cpu or memory, every service reserves some (config validation requires it)
      resources: {
        cpu: cpu === undefined ? 0 : s.cpu || 0.1,
        memory: memory === undefined ? 0 : s.memory || 64,
      },
      desired: Math.max(0, s.running + s.starting + s.delta),
      need: Math.max(0, s.running + s.starting + s.delta + s.extra),
      warm: s.warm,
      preempt: s.preempt,
      ...(s.soaks ? { soaks: true } : {}),
      observed: {
        running: s.running,
        starting: s.starting,
        stopping: s.stopping,
        frozen: s.frozen,
        warming: s.warming,
        ...(Math.min(s.noticed, s.warming) > 0 ? { noticed: Math.min(s.noticed, s.warming) } : {}),
      },
      ...(s.inFlight === undefined ? {} : { inFlight: s.inFlight }),
    }));
    if (!relative) {
      const capacity = {
        replicas,
        ...(cpu === undefined ? {} : { cpu }),
        ...(memory === undefined ? {} : { memory }),
      };
      return { capacity, services: list };
    }
    // what is occupied now (worst case), plus slack: a few replicas of room, or a little over
    const now = total(list, (s) => effect(s, undefined));
    const unit = (d: number) => Math.max(0, Math.round(d));
    const capacity = {
      replicas: unit(now.replicas + slack),
      ...(cpu === undefined ? {} : { cpu: Math.max(0, now.cpu + (slack * cpu) / 4) }),
      ...(memory === undefined ? {} : { memory: unit(now.memory + (slack * memory) / 8) }),
    };
    return { capacity, services: list };
  });

/** Counts of one service, as the test reads them. */
function counts(s: FrozenAdmitService) {
  const o = s.observed;
  const active = o.running + o.starting;
  const frozen = o.frozen ?? 0;
  const warming = o.warming ?? 0;
  const noticed = Math.min(warming, o.noticed ?? 0);
  return { active, stopping: o.stopping, frozen, warming, noticed, pool: frozen + warming };
}

interface Effect {
  /** Replicas (and, times cpu, cores) occupied in the worst case. */
  slots: number;
  /** Replicas' worth of memory occupied in the worst case. */
  bytes: number;
  /** Active target after the call. */
  replicas: number;
  /** Frozen target after the call. */
  frozen: number;
  /** Own frozen replicas thawed by the call. */
  thawed: number;
  /** Own replicas in a freeze notice's grace taken back by the call (before any thaw): no cost. */
  back: number;
  /** Pool (frozen + warming) once the call's thaws and freezes are done, before removals and refill. */
  after: number;
  /** New warming replicas the call starts. */
  warming: number;
  /** The pool the call could keep without starting anything: after thaws, with every surplus replica frozen. */
  could: number;
}

/**
 * The worst case a service occupies once `target` is asked for (or while its call is in flight), following
 * the scheduler contract: thaw own frozen first, cold-start the rest; freeze surplus while the pool is below
 * target, stop the rest; then remove frozen above the target or start warming replicas up to it. Nothing a
 * call frees counts as freed before it is observed.
 */
function effect(s: FrozenAdmitService, target: FrozenTarget | undefined): Effect {
  const c = counts(s);
  if (s.inFlight) {
    const active = Math.max(c.active, s.inFlight.replicas);
    return {
      slots: active + c.stopping + Math.max(c.warming, s.inFlight.frozen),
      bytes: active + c.stopping + Math.max(c.pool, s.inFlight.frozen),
      replicas: c.active,
      frozen: c.pool,
      thawed: 0,
      back: 0,
      after: c.pool,
      warming: 0,
      could: c.pool,
    };
  }
  const replicas = target?.replicas ?? c.active;
  const frozen = target?.frozen ?? c.pool;
  if (replicas >= c.active) {
    const back = Math.min(replicas - c.active, c.noticed);
    const thawed = Math.min(replicas - c.active - back, c.frozen);
    const after = c.pool - back - thawed;
    const warming = Math.max(0, frozen - after);
    const slots = replicas + c.stopping + c.warming - back + warming;
    return {
      slots,
      bytes: slots + c.frozen - thawed,
      replicas,
      frozen,
      thawed,
      back,
      after,
      warming,
      could: after,
    };
  }
  const surplus = c.active - replicas;
  const freezes = Math.min(surplus, Math.max(0, frozen - c.pool));
  const after = c.pool + freezes;
  const warming = Math.max(0, frozen - after);
  const slots = c.active + c.stopping + c.warming + warming;
  const could = c.pool + surplus;
  return { slots, bytes: slots + c.frozen, replicas, frozen, thawed: 0, back: 0, after, warming, could };
}

type Use = { replicas: number; cpu: number; memory: number };

function total(services: FrozenAdmitService[], f: (s: FrozenAdmitService) => Effect): Use {
  const u = { replicas: 0, cpu: 0, memory: 0 };
  for (const s of services) {
    const e = f(s);
    u.replicas += e.slots;
    u.cpu += e.slots * s.resources.cpu;
    u.memory += e.bytes * s.resources.memory;
  }
  return u;
}

function fits(capacity: Capacity, used: Use, unit: Use): boolean {
  return (
    used.replicas + unit.replicas <= capacity.replicas &&
    (capacity.cpu === undefined || used.cpu + unit.cpu <= capacity.cpu + EPS) &&
    (capacity.memory === undefined || used.memory + unit.memory <= capacity.memory + EPS)
  );
}

/**
 * Frozen replicas the rules let a service keep (rule 4), plus those (frozen or warming) it still has to thaw
 * toward desired.
 */
function keepOf(s: FrozenAdmitService, e: Effect): number {
  const c = counts(s);
  const keep = Math.max(s.warm ?? 0, s.preempt === 'freeze' ? Math.max(0, s.need - s.desired) : 0);
  const toThaw = Math.min(c.pool - e.back, Math.max(0, s.desired - c.active - e.back)) - e.thawed;
  return keep + toThaw;
}

function analyse(k: Case) {
  const out = admitFrozen(k.services, k.capacity);
  const before = new Map(k.services.map((s) => [s.name, effect(s, undefined)]));
  const after = new Map(k.services.map((s) => [s.name, effect(s, out.get(s.name))]));
  const waits = k.services.filter((s) => {
    const e = after.get(s.name) as Effect;
    return !s.inFlight && e.replicas < s.desired;
  });
  /** Services whose frozen replicas were removed for someone else's memory (below what rules 2 and 4 keep). */
  const cut = k.services.filter((s) => {
    const e = after.get(s.name) as Effect;
    return !s.inFlight && e.frozen < Math.min(keepOf(s, e), e.could);
  });
  return { out, before, after, waits, cut };
}

test('admitFrozen: never exceeds capacity (replicas, cpu, memory) in the worst case of every call', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const { out, before, after } = analyse(k);
      const b = total(k.services, (s) => before.get(s.name) as Effect);
      const a = total(k.services, (s) => after.get(s.name) as Effect);
      const cap = {
        replicas: k.capacity.replicas,
        cpu: k.capacity.cpu ?? Number.POSITIVE_INFINITY,
        memory: k.capacity.memory ?? Number.POSITIVE_INFINITY,
      };
      for (const dim of ['replicas', 'cpu', 'memory'] as const) {
        if (b[dim] <= cap[dim] + EPS) assert.ok(a[dim] <= cap[dim] + EPS, `${dim} overshot: ${a[dim]}`);
        else assert.ok(a[dim] <= b[dim] + EPS, `${dim} over capacity already, and grew`);
      }
      for (const s of k.services) {
        const t = out.get(s.name);
        if (t === undefined) continue;
        assert.equal(s.inFlight, undefined, 'a service with a call in flight is left alone');
        const c = counts(s);
        assert.ok(Number.isInteger(t.replicas) && Number.isInteger(t.frozen) && t.frozen >= 0);
        assert.ok(t.replicas >= Math.min(c.active, s.desired) && t.replicas <= Math.max(c.active, s.desired));
        assert.ok(t.replicas !== c.active || t.frozen !== c.pool, 'only changes are returned');
      }
    }),
    { numRuns: RUNS },
  );
});

test('admitFrozen: a lower priority never grows into capacity a waiting higher priority could use; thaws need no memory', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const { before, after, waits, cut } = analyse(k);
      const used = total(k.services, (s) => after.get(s.name) as Effect);
      for (const h of waits) {
        const e = after.get(h.name) as Effect;
        const c = counts(h);
        // its next replica: a thaw (replica and cpu) while own frozen remain, else a cold start, unless its own
        // warming replicas will provide the rest once frozen (rule 3: no cold start for those)
        const thaw = e.replicas - c.active - e.back < c.frozen;
        if (!thaw && h.desired - e.replicas <= c.warming - e.back) continue;
        const unit = { replicas: 1, cpu: h.resources.cpu, memory: thaw ? 0 : h.resources.memory };
        // give back everything lower priorities took in this call: it must still not fit
        const lower = k.services.filter((s) => s.priority > h.priority);
        const took = total(lower, (s) => after.get(s.name) as Effect);
        const had = total(lower, (s) => before.get(s.name) as Effect);
        const rest = {
          replicas: used.replicas - (took.replicas - had.replicas),
          cpu: used.cpu - (took.cpu - had.cpu),
          memory: used.memory - (took.memory - had.memory),
        };
        if (!fits(k.capacity, rest, unit)) continue;
        // Only exception: replicas and cpu set aside for a service before it (in priority, then name) that
        // waits for memory being freed for its cold starts by removing frozen replicas (rule 3).
        const aside = waits.some(
          (x) =>
            (x.priority < h.priority || (x.priority === h.priority && x.name < h.name)) &&
            cut.some((v) => v !== x),
        );
        assert.ok(aside, `${h.name} waits for a ${thaw ? 'thaw' : 'cold start'} that fits`);
      }
    }),
    { numRuns: RUNS },
  );
});

test('admitFrozen: thaw before cold start: own frozen replicas go first, and none it still has to thaw is removed', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const { after } = analyse(k);
      for (const s of k.services) {
        const e = after.get(s.name) as Effect;
        const c = counts(s);
        if (s.inFlight || s.desired <= c.active) continue;
        // The back-end thaws before it cold-starts (contract), and the planner counts it so: a cold start
        // happens only once every own frozen replica is thawed ...
        if (e.replicas - c.active - e.back - e.thawed > 0) assert.equal(e.thawed, c.frozen);
        // ... and nothing is thawed or started while a replica in its notice's grace could be taken back
        if (e.replicas - c.active - e.back > 0) assert.equal(e.back, c.noticed);
        // ... and a service still short of desired keeps every frozen replica it can thaw later (rule 3 never
        // takes them, rule 4 counts them in keep); thaws need no memory (checked with priorities above).
        const toThaw = Math.min(c.pool - e.back, s.desired - c.active - e.back) - e.thawed;
        assert.ok(e.frozen >= toThaw, `${s.name} lost frozen replicas it would thaw`);
      }
    }),
    { numRuns: RUNS },
  );
});

test('admitFrozen: refill only when nobody waits (but services soaking up the rest) and nothing was removed, only up to warm', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const { after, waits, cut } = analyse(k);
      for (const s of k.services) {
        const e = after.get(s.name) as Effect;
        if (s.inFlight || e.frozen <= e.after) continue;
        const needy = waits.filter((w) => !w.soaks);
        assert.equal(needy.length, 0, `${s.name} refilled while ${needy[0]?.name} waits`);
        // a service soaking up the rest waits for a pool only of its priority or higher
        for (const w of waits) assert.ok(s.priority <= w.priority, `${s.name} refilled before ${w.name}`);
        assert.equal(cut.length, 0, `${s.name} refilled while frozen replicas were removed for memory`);
        assert.ok(e.frozen <= (s.warm ?? 0), 'refilled beyond warm');
      }
    }),
    { numRuns: RUNS },
  );
});

test('admitFrozen: frozen targets never above keep; below it only when a cold start waits', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const { after, waits, cut } = analyse(k);
      for (const s of k.services) {
        if (s.inFlight) continue;
        const e = after.get(s.name) as Effect;
        assert.ok(e.frozen <= keepOf(s, e), `${s.name}: frozen ${e.frozen} above keep ${keepOf(s, e)}`);
        // rule 2: a shrinking service freezes (rather than stops) up to keep, unless memory is needed
        if (cut.includes(s))
          assert.ok(waits.length > 0, `${s.name}: frozen removed below keep while nobody waits`);
        else assert.ok(e.frozen >= Math.min(keepOf(s, e), e.could));
      }
    }),
    { numRuns: RUNS },
  );
});

test('admitFrozen: deterministic, whatever the order services come in', () => {
  fc.assert(
    fc.property(caseArb, fc.array(fc.integer(), { minLength: 10, maxLength: 10 }), (k, keys) => {
      const shuffled = k.services
        .map((s, i) => ({ s, key: keys[i] as number }))
        .sort((a, b) => a.key - b.key)
        .map((x) => x.s);
      const a = admitFrozen(k.services, k.capacity);
      const b = admitFrozen(shuffled, k.capacity);
      assert.deepEqual([...a].sort(), [...b].sort());
    }),
    { numRuns: RUNS },
  );
});

test('admitFrozen: with warm 0, preempt stop and nothing frozen or warming, the same answers as admit()', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const plain: FrozenAdmitService[] = k.services.map((s) => ({
        ...s,
        warm: 0,
        preempt: 'stop',
        observed: {
          running: s.observed.running,
          starting: s.observed.starting,
          stopping: s.observed.stopping,
        },
        ...(s.inFlight ? { inFlight: { replicas: s.inFlight.replicas, frozen: 0 } } : {}),
      }));
      const items: AdmitService[] = plain.map((s) => ({
        name: s.name,
        priority: s.priority,
        resources: s.resources,
        desired: s.desired,
        observed: s.observed,
        ...(s.inFlight ? { inFlight: s.inFlight.replicas } : {}),
      }));
      const expected = [...admit(items, k.capacity)].map(([name, replicas]) => [
        name,
        { replicas, frozen: 0 },
      ]);
      assert.deepEqual([...admitFrozen(plain, k.capacity)].sort(), expected.sort());
    }),
    { numRuns: RUNS },
  );
});

// A few cases spelled out, for the reader.
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

test('admitFrozen: a service soaking up the rest never removes frozen replicas of its priority or higher', () => {
  fc.assert(
    fc.property(caseArb, (k) => {
      const { waits, cut } = analyse(k);
      // Every service that lost frozen replicas lost them to one that waits and may take them: one that does
      // not soak up the rest, or one of a higher priority.
      for (const v of cut) {
        assert.ok(
          waits.some((w) => w !== v && (!w.soaks || w.priority < v.priority)),
          `${v.name} lost frozen replicas to a service soaking up the rest of its priority or lower`,
        );
      }
    }),
    { numRuns: RUNS },
  );
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
