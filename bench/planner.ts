// Planning time for 10 to 10,000 services (p50, p99), next to a baseline measured in the same run:
// sorting the same services by (priority, name), the least any priority planner has to do.
import type { Observed, Rule, ServicePolicy, SourceResult } from '../src/core/types.js';
import { admit, byPriority, EMPTY_MEMORY, type PlannerMemory, plan } from '../src/planner/index.js';
import { mulberry32 } from '../src/sources/random.js';

function services(n: number, rand: () => number): ServicePolicy[] {
  const out: ServicePolicy[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rand();
    const rule: Rule =
      kind < 0.6
        ? { type: 'target', perReplica: 10, activation: 0 }
        : kind < 0.8
          ? { type: 'queue', perReplicaRate: 5, drainSeconds: 10 }
          : kind < 0.95
            ? { type: 'remainder' }
            : { type: 'fixed', replicas: 1 };
    out.push({
      name: `svc-${i.toString().padStart(5, '0')}`,
      priority: 1 + Math.floor(rand() * 3),
      min: rule.type === 'fixed' ? 1 : Math.floor(rand() * 2),
      max: 20,
      rule,
      resources: { cpu: 0.25, memory: 64 * 2 ** 20 },
      scaleDownWindowMs: 2000,
    });
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

/**
 * `churn` is the share of services whose demand moves in a tick: 0.05 is demand that moves every couple of
 * seconds at a 100 ms tick (the demo's pace); 1 is the worst case, every service changing every tick.
 */
export function benchPlanner(churn: number): { rows: string[]; p99At10k: number } {
  const rows: string[] = [`demand of ${churn * 100}% of the services moves each tick`];
  let p99At10k = 0;
  rows.push('services   plan p50   plan p99  admit p50  sort p50 (baseline)  plan/sort');
  for (const n of [10, 100, 1000, 10_000]) {
    const rand = mulberry32(n);
    const svcs = services(n, rand);
    const capacity = { replicas: n * 3, cpu: n * 0.75, memory: n * 3 * 64 * 2 ** 20 };
    const observed = new Map<string, Observed>(
      svcs.map((s) => [s.name, { running: Math.floor(rand() * 5), starting: 0, stopping: 0 }]),
    );
    let memory: PlannerMemory = EMPTY_MEMORY;
    const iterations = n >= 10_000 ? 300 : 1000;
    const planTimes: number[] = [];
    const admitTimes: number[] = [];
    const sortTimes: number[] = [];
    const readings = new Map<string, SourceResult>();
    for (let i = 0; i < iterations + 50; i++) {
      const now = i * 100;
      for (const s of svcs) {
        // a random walk: some services' demand moves, so plans have real work and scale-downs wait
        const last = readings.get(s.name);
        if (last?.ok && rand() >= churn) continue;
        const value = last?.ok
          ? Math.max(0, Math.min(200, last.reading.value + Math.floor(rand() * 61) - 30))
          : 50;
        readings.set(s.name, { ok: true, reading: { value, at: now, rate: value / 10 } });
      }
      let t = process.hrtime.bigint();
      const result = plan({ now, capacity, services: svcs, readings, observed }, memory);
      const planNs = Number(process.hrtime.bigint() - t);
      memory = result.memory;
      const items = svcs.map((s, k) => ({
        name: s.name,
        priority: s.priority,
        resources: s.resources,
        desired: result.plan.services[k]?.desired ?? 0,
        observed: observed.get(s.name) as Observed,
      }));
      t = process.hrtime.bigint();
      admit(items, capacity);
      const admitNs = Number(process.hrtime.bigint() - t);
      t = process.hrtime.bigint();
      [...svcs].sort(byPriority);
      const sortNs = Number(process.hrtime.bigint() - t);
      if (i >= 50) {
        planTimes.push(planNs / 1e6);
        admitTimes.push(admitNs / 1e6);
        sortTimes.push(sortNs / 1e6);
      }
    }
    for (const a of [planTimes, admitTimes, sortTimes]) a.sort((x, y) => x - y);
    const p50 = percentile(planTimes, 50);
    const p99 = percentile(planTimes, 99);
    const sortP50 = percentile(sortTimes, 50);
    if (n === 10_000) p99At10k = p99;
    rows.push(
      `${String(n).padStart(8)}  ${ms(p50)}  ${ms(p99)}  ${ms(percentile(admitTimes, 50))}  ${ms(sortP50).padEnd(19)}  ${(p50 / sortP50).toFixed(1).padStart(8)}×`,
    );
  }
  return { rows, p99At10k };
}

function ms(x: number): string {
  return `${x.toFixed(3)} ms`.padStart(9);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const churn of [0.05, 1]) {
    const { rows, p99At10k } = benchPlanner(churn);
    console.log(rows.join('\n'));
    console.log(
      `target p99 under 5 ms at 10,000 services: ${p99At10k < 5 ? 'met' : 'NOT met'} (${p99At10k.toFixed(2)} ms)\n`,
    );
  }
}
