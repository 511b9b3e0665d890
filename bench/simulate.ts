// Scaling quality against the peers on every real trace in ../shared/traces, in real time and time-compressed
// (a trace minute replayed as a simulated second). `node --import tsx bench/simulate.ts [--quick]`;
// --quick replays only the first day of traces longer than a day. --nodes runs the policies on a cluster of
// nodes instead (issue 15 §3): node-hours, peak nodes, and microscaler's ratios to HPA + cluster-autoscaler
// and to the oracle.
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ServiceSpec } from '../src/core/types.js';
import {
  buildSetup,
  DEFAULT_BOOT,
  DEFAULT_NODE_POLICIES,
  DEFAULT_POLICIES,
  DEFAULT_PRESSURE,
  DEFAULT_REMOVAL,
  DemandReplay,
  describeDuration,
  longest,
  microscalerWith,
  NODE_POLICIES,
  type NodeScores,
  nodesAtStart,
  POLICIES,
  ratio,
  runSimulation,
  type Scores,
  type TraceColumn,
} from '../src/sim/index.js';
import { loadTrace } from '../src/sources/trace.js';

const quick = process.argv.includes('--quick');
const withNodes = process.argv.includes('--nodes');
/** With --nodes: microscaler keeps this many idle nodes (--spare=N; default 0). */
const spare = Number(process.argv.find((a) => a.startsWith('--spare='))?.slice(8) ?? 0);
/** With --nodes: microscaler also keeps the rise its need's slope over 30 min projects over 165 s (--rise). */
const rise = process.argv.includes('--rise');
/** With --nodes: the cluster at its most (capacity below) is this many nodes. */
const MOST_NODES = 10;
const dir = resolve(process.argv.find((a) => a.startsWith('--traces='))?.slice(9) ?? '../shared/traces');
/** Each service's peak, at the trace interval's mean rate, needs this many replicas. */
const PEAK_REPLICAS = 10;
const HEADROOM = 1.2;

interface Row {
  trace: string;
  mode: string;
  capacity: number;
  policy: string;
  scores: Scores;
  nodes?: NodeScores;
  seconds: number;
}

const base = { min: 0, resources: { cpu: 0, memory: 0 }, scaleDownWindowMs: 2000, run: {} };

async function benchTrace(file: string, timeScale: number): Promise<Row[]> {
  const trace = await loadTrace(join(dir, file));
  const limit = quick ? Math.ceil(86_400 / trace.step) : Number.POSITIVE_INFINITY;
  const demand = new Map<string, { column: TraceColumn; timeScale: number }>();
  const services: ServiceSpec[] = [];
  const replays: { replay: DemandReplay; rate: number }[] = [];
  for (const [name, series] of trace.services) {
    const column = { step: trace.step, demand: series.demand.slice(0, limit) };
    const replay = new DemandReplay(column, timeScale);
    const rate = replay.peakRate() / PEAK_REPLICAS || 1;
    demand.set(name, { column, timeScale });
    replays.push({ replay, rate });
    services.push({
      ...base,
      name,
      priority: 1,
      max: 1000,
      rule: { type: 'queue', perReplicaRate: rate, drainSeconds: 1 },
    });
  }
  // Capacity: 1.2 × the priority-1 peak, the most replicas all services need together at an interval's mean rate.
  let peak = 0;
  const intervals = replays[0]?.replay.intervals ?? 0;
  for (let k = 0; k < intervals; k++) {
    let need = 0;
    for (const r of replays) need += r.replay.rateOf(k) / r.rate;
    peak = Math.max(peak, need);
  }
  let capacity = Math.ceil(HEADROOM * peak);
  // With nodes: the capacity in MOST_NODES nodes; the cluster starts with what the first longest boot needs.
  const size = Math.ceil(capacity / MOST_NODES);
  const most = Math.ceil(capacity / size);
  const flat = buildSetup({ capacity, intervalMs: 100, readTimeoutMs: 1000, services, demand });
  const nodes = withNodes
    ? {
        size,
        initial: Math.min(most, nodesAtStart(flat.services, size, longest(DEFAULT_BOOT) / timeScale)),
        min: 1,
        max: most,
        boot: DEFAULT_BOOT,
        removal: DEFAULT_REMOVAL,
        timeScale,
      }
    : undefined;
  if (nodes) capacity = most * size;
  services.push({ ...base, name: 'batch', priority: 2, max: capacity, rule: { type: 'remainder' } });
  const setup = buildSetup({
    capacity,
    intervalMs: 100,
    readTimeoutMs: 1000,
    services,
    demand,
    ...(nodes ? { nodes } : {}),
  });
  const mode = timeScale === 1 ? 'real time' : `compressed ×${timeScale}`;
  const rows: Row[] = [];
  const registry = nodes
    ? {
        ...NODE_POLICIES,
        microscaler: microscalerWith({
          ...DEFAULT_PRESSURE,
          spareNodes: spare,
          ...(rise ? { riseWindowMs: 1_800_000 } : {}),
        }),
      }
    : POLICIES;
  for (const policy of nodes ? DEFAULT_NODE_POLICIES : DEFAULT_POLICIES) {
    const started = performance.now();
    const result = await runSimulation(setup, registry[policy] as (typeof POLICIES)[string], { samples: 10 });
    rows.push({
      trace: file.replace(/\.csv$/, ''),
      mode,
      capacity: nodes ? size : capacity,
      policy,
      scores: result.scores,
      ...(result.nodes ? { nodes: result.nodes } : {}),
      seconds: (performance.now() - started) / 1000,
    });
  }
  return rows;
}

const pct = (x: number) => `${(x * 100).toFixed(3)}%`;
const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '∞');

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.csv'))
  .sort();
if (withNodes) await benchNodes();
else await benchReplicas();

async function benchReplicas(): Promise<void> {
  console.log(
    `scaling quality: priority-1 service per trace service (queue rule, a replica serves 1/${PEAK_REPLICAS} of its peak rate), ` +
      `priority-2 batch, capacity ${HEADROOM} × priority-1 peak; start-up 120–1250 ms, stop 1050–1800 ms (Docker); late after 2 s` +
      `${quick ? '; --quick: first day only' : ''}`,
  );
  console.log(
    [
      'trace'.padEnd(36),
      'mode'.padEnd(14),
      'cap'.padStart(4),
      'policy'.padEnd(12),
      'p1 late'.padStart(9),
      'p1 maxBL'.padStart(9),
      'util'.padStart(7),
      'p2 work'.padStart(10),
      'churn/h'.padStart(8),
      'over'.padStart(5),
      'ms÷ late'.padStart(9),
      'ms÷ p2'.padStart(7),
      'run s'.padStart(6),
    ].join(' '),
  );
  for (const file of files) {
    for (const timeScale of [1, 60]) {
      const rows = await benchTrace(file, timeScale);
      const ours = rows.find((r) => r.policy === 'microscaler')?.scores as Scores;
      for (const r of rows) {
        const s = r.scores;
        const self = r.policy === 'microscaler';
        console.log(
          [
            r.trace.padEnd(36),
            r.mode.padEnd(14),
            String(r.capacity).padStart(4),
            r.policy.padEnd(12),
            pct(s.p1LateWork).padStart(9),
            num(s.p1MaxBacklog).padStart(9),
            pct(s.utilisation).padStart(7),
            num(s.p2WorkDone).padStart(10),
            num(s.churnPerHour).padStart(8),
            String(s.overshoot).padStart(5),
            (self ? '' : num(ratio(ours.p1LateWork, s.p1LateWork), 2)).padStart(9),
            (self ? '' : num(ratio(ours.p2WorkDone, s.p2WorkDone), 3)).padStart(7),
            r.seconds.toFixed(1).padStart(6),
          ].join(' '),
        );
      }
    }
  }
}

/** --nodes: every trace on a cluster of nodes; node-hours, peak nodes and the issue's ratios. */
async function benchNodes(): Promise<void> {
  console.log(
    `scaling quality on a cluster of nodes: the services as above; the capacity of 1.2 × priority-1 peak in at most ${MOST_NODES} ` +
      `nodes, starting with the nodes the priority-1 peak of the first longest boot needs; boot ${describeDuration(DEFAULT_BOOT)}, ` +
      `removal ${describeDuration(DEFAULT_REMOVAL)} after the drain; compressed ×60: boot, removal and every node-level window ` +
      `÷ 60 alike, node-hours in trace time${spare > 0 ? `; microscaler keeps ${spare} spare node${spare === 1 ? '' : 's'}` : ''}${quick ? '; --quick: first day only' : ''}`,
  );
  console.log(
    [
      'trace'.padEnd(36),
      'mode'.padEnd(14),
      'size'.padStart(4),
      'policy'.padEnd(12),
      'p1 late'.padStart(9),
      'p2 work'.padStart(10),
      'util'.padStart(8),
      'node-h'.padStart(9),
      'peak'.padStart(5),
      'over'.padStart(5),
      'run s'.padStart(6),
    ].join(' '),
  );
  const summary: string[] = [];
  for (const file of files) {
    for (const timeScale of [1, 60]) {
      const rows = await benchTrace(file, timeScale);
      for (const r of rows) {
        console.log(
          [
            r.trace.padEnd(36),
            r.mode.padEnd(14),
            String(r.capacity).padStart(4),
            r.policy.padEnd(12),
            pct(r.scores.p1LateWork).padStart(9),
            num(r.scores.p2WorkDone).padStart(10),
            pct(r.scores.utilisation).padStart(8),
            num(r.nodes?.nodeHours ?? 0, 2).padStart(9),
            String(r.nodes?.peakNodes ?? 0).padStart(5),
            String(r.scores.overshoot).padStart(5),
            r.seconds.toFixed(1).padStart(6),
          ].join(' '),
        );
      }
      summary.push(targets(rows));
    }
  }
  console.log(
    '\nmicroscaler + pressure against HPA + cluster-autoscaler and the oracle (targets: node-h ÷ hpa+ca ≤ 1, p1 late no higher, node-h ÷ oracle ≤ 1.10)',
  );
  console.log(
    [
      'trace'.padEnd(36),
      'mode'.padEnd(14),
      'node-h ÷ hpa+ca'.padStart(16),
      'p1 late ms'.padStart(11),
      'p1 late hpa+ca'.padStart(15),
      'node-h ÷ oracle'.padStart(16),
      '  targets',
    ].join(' '),
  );
  for (const line of summary) console.log(line);
}

/** One summary line: microscaler's node-hours and late work against HPA + CA's, and node-hours against the oracle's. */
function targets(rows: Row[]): string {
  const by = (name: string) => rows.find((r) => r.policy === name) as Row;
  const ms = by('microscaler');
  const ca = by('hpa+ca');
  const oracle = by('oracle');
  const hours = (r: Row) => r.nodes?.nodeHours ?? 0;
  const vsCa = ratio(hours(ms), hours(ca));
  const vsOracle = ratio(hours(ms), hours(oracle));
  const missed = [
    vsCa > 1 ? 'node-h above hpa+ca' : '',
    ms.scores.p1LateWork > ca.scores.p1LateWork ? 'late above hpa+ca' : '',
    vsOracle > 1.1 ? 'node-h > 1.10 × oracle' : '',
  ].filter((m) => m !== '');
  return [
    ms.trace.padEnd(36),
    ms.mode.padEnd(14),
    num(vsCa, 3).padStart(16),
    pct(ms.scores.p1LateWork).padStart(11),
    pct(ca.scores.p1LateWork).padStart(15),
    num(vsOracle, 3).padStart(16),
    `  ${missed.length === 0 ? 'met' : `missed: ${missed.join(', ')}`}`,
  ].join(' ');
}
