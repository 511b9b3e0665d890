// Admission with frozen and warm replicas (issue 9), as properties over thousands of random inputs. The
// back-end is modelled in test/fixtures/planner/frozen-model.ts, independently of admit-frozen.ts, from the
// scheduler contract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  analyse,
  caseArb,
  counts,
  type Effect,
  EPS,
  fits,
  keepOf,
  RUNS,
  total,
} from '../../test/fixtures/planner/frozen-model.js';
import { type AdmitService, admit } from './admit.js';
import { admitFrozen, type FrozenAdmitService } from './admit-frozen.js';

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
