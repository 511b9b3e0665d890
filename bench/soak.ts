// The soak: an hour of simulated time (36,000 ticks of 100 ms) through the real controller, with random
// demand and random faults (test/soak/harness.ts), every invariant of DESIGN.md checked at every tick.
// Next to it, in the same run, the baseline: the same loop, services and back-end with steady demand and no
// faults. `node --expose-gc --import tsx bench/soak.ts [--minutes 60] [--seed 1] [--stale-observe]`
// Exits 1 when an invariant broke, memory grew, a handle leaked or a collection of the controller grew.
import { EVENT_HISTORY, runSoak, type SoakResult } from '../test/soak/harness.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} needs a positive number`);
    process.exit(2);
  }
  return value;
}

const minutes = option('minutes', 60);
const seed = option('seed', 1);
const staleObserve = process.argv.includes('--stale-observe');
/**
 * Heap growth allowed over the second half of the hour, per simulated minute: 12 KB is 20 bytes a tick, less
 * than the smallest object V8 allocates (a plan, an event or a map entry kept per tick is 100 bytes to 1 KB),
 * so anything kept per tick shows. Measured over the second half of the hour: 0.8 to 3.1 KB a minute (seeds 1–3).
 */
const MAX_GROWTH_PER_MINUTE = 12 * 1024;
const MAX_COLLECTION = 128;
const MB = 1024 * 1024;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-GB', { maximumFractionDigits: digits });
const handles = (h: Readonly<Record<string, number>>) =>
  Object.entries(h)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

function row(label: string, r: SoakResult): string {
  const first = r.memory[0]?.heapUsed ?? 0;
  const last = r.memory[r.memory.length - 1]?.heapUsed ?? 0;
  const tps = r.ticks / (r.realMs / 1000);
  return [
    label.padEnd(22),
    fmt(r.ticks).padStart(8),
    fmt(tps).padStart(9),
    `${fmt(r.realMs / 1000, 1)} s`.padStart(9),
    `${fmt(first / MB, 2)} → ${fmt(last / MB, 2)} MB`.padStart(18),
    (r.slopePerMinute === undefined ? 'n/a' : `${fmt(r.slopePerMinute / 1024, 1)} KB/min`).padStart(14),
    fmt(r.checks).padStart(9),
    (r.violation ? '1' : '0').padStart(10),
  ].join('  ');
}

console.log(
  `soak: ${fmt(minutes)} simulated minute(s) at a 100 ms tick (${fmt(minutes * 600)} ticks), seed ${seed}${staleObserve ? ', stale observe answers' : ''}`,
);
const progress = (line: string) => console.log(`  ${line}`);
const soak = await runSoak({ seed, minutes, staleObserve, progress });
const baseline = await runSoak({ seed, minutes, faults: false });

console.log(
  `\n${'run'.padEnd(22)}  ${'ticks'.padStart(8)}  ${'ticks/s'.padStart(9)}  ${'real'.padStart(9)}  ${'heap start → end'.padStart(18)}  ${'heap slope'.padStart(14)}  ${'checks'.padStart(9)}  violations`,
);
console.log(row('faults, random demand', soak));
console.log(row('baseline: steady', baseline));
const speed = soak.ticks / soak.realMs / (baseline.ticks / baseline.realMs);
const heap = (r: SoakResult) => r.memory[r.memory.length - 1]?.heapUsed ?? 0;
console.log(
  `ratio soak/baseline: ticks/s ${fmt(speed, 2)}×, heap at the end ${fmt(heap(soak) / Math.max(1, heap(baseline)), 2)}×`,
);
console.log(`simulated per real second: ${fmt(soak.simulatedMs / soak.realMs, 0)}× real time`);
console.log(
  `faults injected: ${Object.entries(soak.injected)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
const s = soak.scheduler;
console.log(
  `back-end: ${fmt(s.scaleCalls)} scale calls (${fmt(s.scaleFailed)} failed), ${fmt(s.starts)} starts, ${fmt(s.stops)} stops, ${fmt(s.crashes)} crashes, ${fmt(s.observeFailed)} failed observes; peak ${s.peak.replicas} replicas, ${s.peak.cpu} cpu`,
);
console.log(
  `events: ${Object.entries(soak.events)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ')}`,
);
console.log(
  `ticks: longest between two plans while the back-end answered ${fmt(soak.longestTickMs)} ms; ${fmt(soak.stretchedTicks)} longer than interval + slowest observe`,
);
console.log(`handles before: ${handles(soak.handlesBefore)}; after: ${handles(soak.handlesAfter)}`);
const largest = Object.entries(soak.largest).sort((a, b) => b[1] - a[1]);
console.log(
  `controller collections, largest size reached: ${largest
    .slice(0, 6)
    .map(([k, v]) => `${k.replace('controller.', '')} ${v}`)
    .join(', ')}`,
);

const problems: string[] = [];
for (const [label, r] of [
  ['soak', soak],
  ['baseline', baseline],
] as const) {
  if (r.violation) problems.push(`${label}: ${r.violation}`);
  if (JSON.stringify(r.handlesAfter) !== JSON.stringify(r.handlesBefore))
    problems.push(`${label}: handles ${handles(r.handlesBefore)} → ${handles(r.handlesAfter)}`);
  for (const [path, size] of Object.entries(r.largest)) {
    const bound = path === 'controller.log.ring' ? EVENT_HISTORY : MAX_COLLECTION;
    if (size > bound) problems.push(`${label}: ${path} grew to ${size} (bound ${bound})`);
  }
}
if (!soak.gc) console.log('memory: no forced GC available (run with --expose-gc); slope not judged');
else if (minutes < 20) console.log('memory: under 20 simulated minutes the slope is warm-up, not judged');
else if ((soak.slopePerMinute ?? 0) > MAX_GROWTH_PER_MINUTE)
  problems.push(
    `heap grew ${fmt((soak.slopePerMinute ?? 0) / 1024, 1)} KB per simulated minute over the second half (bound ${MAX_GROWTH_PER_MINUTE / 1024} KB)`,
  );
console.log(problems.length === 0 ? '\nresult: OK' : `\nresult: FAILED\n${problems.join('\n')}`);
process.exitCode = problems.length === 0 ? 0 : 1;
