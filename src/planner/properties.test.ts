// The planner's promises of DESIGN.md, as properties over thousands of random inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { input, type World, worldArb } from '../../test/fixtures/planner/worlds.js';
import type { Capacity, Observed, Rule, ServicePolicy } from '../core/types.js';
import { admit } from './admit.js';
import { EMPTY_MEMORY, type PlannerMemory, plan } from './plan.js';

const RUNS = 2000;
const EPS = 1e-9;

function within(capacity: Capacity, used: { replicas: number; cpu: number; memory: number }): boolean {
  return (
    used.replicas <= capacity.replicas &&
    (capacity.cpu === undefined || used.cpu <= capacity.cpu + EPS) &&
    (capacity.memory === undefined || used.memory <= capacity.memory + EPS)
  );
}

function usage(services: ServicePolicy[], count: (s: ServicePolicy) => number) {
  let replicas = 0;
  let cpu = 0;
  let memory = 0;
  for (const s of services) {
    const n = count(s);
    replicas += n;
    cpu += n * s.resources.cpu;
    memory += n * s.resources.memory;
  }
  return { replicas, cpu, memory };
}

/** What the rule asks for, clamped, for a service whose source answered (first tick, empty memory). */
function desiredMap(w: World, memory: PlannerMemory = EMPTY_MEMORY, now = 0) {
  const r = plan(input(w, now), memory);
  return { r, desired: new Map(r.plan.services.map((s) => [s.name, s.desired])) };
}

test('promise 1: never plans more than capacity (replicas, cpu, memory)', () => {
  fc.assert(
    fc.property(worldArb(true), (w) => {
      const { desired } = desiredMap(w);
      assert.ok(
        within(
          w.capacity,
          usage(w.services, (s) => desired.get(s.name) ?? 0),
        ),
      );
    }),
    { numRuns: RUNS },
  );
});

test('promise 1: admission never lets what occupies capacity exceed it, counting stopping replicas', () => {
  fc.assert(
    fc.property(worldArb(true), fc.array(fc.boolean(), { maxLength: 12 }), (w, flights) => {
      const { desired } = desiredMap(w);
      const items = w.services.map((s, i) => ({
        name: s.name,
        priority: s.priority,
        resources: s.resources,
        desired: desired.get(s.name) ?? 0,
        observed: w.observed.get(s.name) as Observed,
        ...(flights[i] ? { inFlight: (desired.get(s.name) ?? 0) + 1 } : {}),
      }));
      const before = usage(w.services, (s) => {
        const it = items.find((x) => x.name === s.name);
        const o = it?.observed as Observed;
        return Math.max(o.running + o.starting, it?.inFlight ?? 0) + o.stopping;
      });
      const asks = admit(items, w.capacity);
      const after = usage(w.services, (s) => {
        const it = items.find((x) => x.name === s.name);
        const o = it?.observed as Observed;
        const active = asks.get(s.name) ?? o.running + o.starting;
        // a stop keeps occupying until it is gone: count the larger of old and new
        return Math.max(o.running + o.starting, active, it?.inFlight ?? 0) + o.stopping;
      });
      if (within(w.capacity, before)) assert.ok(within(w.capacity, after), 'admission overshot capacity');
      else assert.ok(after.replicas <= before.replicas, 'over capacity: nothing may start');
      for (const it of items) {
        const ask = asks.get(it.name);
        if (it.inFlight !== undefined)
          assert.equal(ask, undefined, 'a service with a call in flight is left alone');
        if (ask !== undefined) {
          const active = it.observed.running + it.observed.starting;
          // moves toward desired, never past it
          assert.ok(ask >= Math.min(active, it.desired) && ask <= Math.max(active, it.desired));
        }
      }
    }),
    { numRuns: RUNS },
  );
});

/** The target each service's rule asks for on a first tick (no history), clamped to [min, max]. */
function targets(w: World, result: ReturnType<typeof plan>) {
  return new Map(
    w.services.map((s) => {
      const p = result.plan.services.find((x) => x.name === s.name);
      const need = s.rule.type === 'remainder' ? s.max : (p?.need ?? 0);
      const o = w.observed.get(s.name) as Observed;
      // first tick: the window also holds what runs, so scale-down waits
      const stable =
        p?.error !== undefined || s.rule.type === 'remainder' ? need : Math.max(need, o.running + o.starting);
      return [s.name, Math.min(s.max, Math.max(s.min, stable))];
    }),
  );
}

test('promise 2: strict priority; a lower priority gets capacity beyond its min only when every higher one has its need or cannot fit', () => {
  fc.assert(
    fc.property(worldArb(true), (w) => {
      const { r, desired } = desiredMap(w);
      const want = targets(w, r);
      for (const low of w.services) {
        if ((desired.get(low.name) ?? 0) <= low.min) continue;
        for (const high of w.services) {
          if (high.priority >= low.priority) continue;
          const got = desired.get(high.name) ?? 0;
          if (got >= (want.get(high.name) ?? 0)) continue;
          // high is short: then one more of it must not fit in what high's level saw
          const used = usage(w.services, (s) => {
            const d = desired.get(s.name) ?? 0;
            return s.priority <= high.priority ? d : Math.min(d, s.min);
          });
          const one = {
            replicas: used.replicas + 1,
            cpu: used.cpu + high.resources.cpu,
            memory: used.memory + high.resources.memory,
          };
          assert.ok(
            !within(w.capacity, one),
            `${low.name} got beyond min while ${high.name} was short and could fit`,
          );
        }
      }
    }),
    { numRuns: RUNS },
  );
});

test('promise 2: within one priority, contended capacity is shared in proportion to need (within one replica)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 8 }),
      (replicas, needs) => {
        const services = needs.map((_, i) => ({
          name: `s${i}`,
          priority: 1,
          min: 0,
          max: 100,
          rule: { type: 'target', perReplica: 1, activation: 0 } as Rule,
          resources: { cpu: 0, memory: 0 },
          scaleDownWindowMs: 0,
        }));
        const r = plan(
          {
            now: 0,
            capacity: { replicas },
            services,
            readings: new Map(needs.map((n, i) => [`s${i}`, { ok: true, reading: { value: n, at: 0 } }])),
            observed: new Map(),
          },
          EMPTY_MEMORY,
        );
        const total = needs.reduce((a, b) => a + b, 0);
        const give = Math.min(replicas, total);
        let sum = 0;
        r.plan.services.forEach((s, i) => {
          const exact = (give * (needs[i] as number)) / total;
          assert.ok(
            s.desired >= Math.floor(exact) && s.desired <= Math.ceil(exact),
            `${s.desired} vs ${exact}`,
          );
          sum += s.desired;
        });
        assert.equal(sum, give);
      },
    ),
    { numRuns: RUNS },
  );
});

test('promise 3: max always holds; min holds unless mins do not fit, and then in priority order', () => {
  fc.assert(
    fc.property(worldArb(false), (w) => {
      const { desired } = desiredMap(w);
      const ordered = [...w.services].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1));
      let shortSeen = false;
      for (const s of ordered) {
        const d = desired.get(s.name) ?? 0;
        assert.ok(d <= s.max, `${s.name} above max`);
        if (shortSeen) assert.equal(d, 0, `${s.name} got replicas after an earlier min was cut short`);
        if (d < s.min) {
          shortSeen = true;
          assert.equal(
            usage(w.services, (x) => desired.get(x.name) ?? 0).replicas,
            w.capacity.replicas,
            'a min was cut short while capacity was free',
          );
        }
      }
    }),
    { numRuns: RUNS },
  );
});

test('promise 4: scale-up in the same tick; scale-down only after need stayed lower for the window', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 60 }),
      fc.integer({ min: 0, max: 3000 }),
      (needs, windowMs) => {
        const s: ServicePolicy = {
          name: 'web',
          priority: 1,
          min: 0,
          max: 50,
          rule: { type: 'target', perReplica: 1, activation: 0 },
          resources: { cpu: 0, memory: 0 },
          scaleDownWindowMs: windowMs,
        };
        let memory: PlannerMemory = EMPTY_MEMORY;
        const history: [number, number][] = [[0, 0]]; // first sight: nothing runs
        needs.forEach((need, i) => {
          const now = i * 100;
          history.push([now, need]);
          const r = plan(
            {
              now,
              capacity: { replicas: 50 },
              services: [s],
              readings: new Map([['web', { ok: true, reading: { value: need, at: now } }]]),
              observed: new Map(),
            },
            memory,
          );
          memory = r.memory;
          const expected = Math.max(...history.filter(([t]) => t >= now - windowMs).map(([, n]) => n));
          assert.equal(r.plan.services[0]?.desired, expected, `tick ${i}`);
        });
      },
    ),
    { numRuns: RUNS },
  );
});

test('promise 5: preemption takes from the lowest priority first, and freed capacity is not handed back', () => {
  fc.assert(
    fc.property(worldArb(false), fc.integer({ min: 1, max: 60 }), (w, jump) => {
      // everyone starts at what the plan gave them; then the top-priority service's demand jumps
      const first = desiredMap(w);
      const top = [...w.services].sort(
        (a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1),
      )[0] as ServicePolicy;
      const observed = new Map(
        w.services.map((s) => [
          s.name,
          { running: first.desired.get(s.name) ?? 0, starting: 0, stopping: 0 },
        ]),
      );
      const jumped: World = {
        ...w,
        services: w.services.map((s) =>
          s.name === top.name
            ? { ...s, rule: { type: 'target', perReplica: 1, activation: 0 }, max: s.max + jump }
            : s,
        ),
        readings: new Map([...w.readings, [top.name, { ok: true, reading: { value: 1000, at: 100 } }]]),
        observed,
      };
      const second = desiredMap(jumped, first.r.memory, 100);
      const cut = w.services.filter(
        (s) => (second.desired.get(s.name) ?? 0) < (first.desired.get(s.name) ?? 0),
      );
      for (const c of cut) {
        // nobody of a lower priority than a cut service keeps more than its min
        for (const s of w.services) {
          if (s.priority > c.priority)
            assert.ok(
              (second.desired.get(s.name) ?? 0) <= s.min,
              `${s.name} kept capacity while ${c.name} was cut`,
            );
        }
      }
      // a third tick with the same inputs, the cut replicas still stopping: nothing flows back
      const stopping = new Map(
        w.services.map((s) => {
          const before = first.desired.get(s.name) ?? 0;
          const now = second.desired.get(s.name) ?? 0;
          return [
            s.name,
            { running: Math.min(before, now), starting: 0, stopping: Math.max(0, before - now) },
          ];
        }),
      );
      const third = desiredMap({ ...jumped, observed: stopping }, second.r.memory, 200);
      for (const c of cut)
        assert.equal(third.desired.get(c.name), second.desired.get(c.name), `${c.name} refilled`);
    }),
    { numRuns: RUNS },
  );
});

test('promise 6: deterministic, whatever the order services are listed in', () => {
  fc.assert(
    fc.property(worldArb(true), fc.integer(), (w, seed) => {
      const a = plan(input(w), EMPTY_MEMORY).plan;
      const shuffled = [...w.services].sort(
        (x, y) => ((x.name.charCodeAt(1) * seed) % 7) - ((y.name.charCodeAt(1) * seed) % 7),
      );
      const b = plan({ ...input(w), services: shuffled }, EMPTY_MEMORY).plan;
      assert.deepEqual(a, b);
    }),
    { numRuns: RUNS },
  );
});
