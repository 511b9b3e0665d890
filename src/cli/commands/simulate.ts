// `microscaler simulate`: replays trace demand through microscaler and its peers on a simulated cluster.
import { writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { Config } from '../../core/types.js';
import { schedulerSchemas } from '../../schedulers/registry.js';
import {
  buildSetup,
  DEFAULT_NODE_POLICIES,
  DEFAULT_POLICIES,
  DOCKER_START,
  DOCKER_STOP,
  type Duration,
  describeDuration,
  NODE_POLICIES,
  POLICIES,
  plotHtml,
  ratio,
  runSimulation,
  type Scores,
  type SimResult,
  type SimSetup,
  type TraceColumn,
} from '../../sim/index.js';
import { sourceSchemas } from '../../sources/registry.js';
import { loadTrace, type Trace, traceSchema } from '../../sources/trace.js';
import { UsageError } from '../usage-error.js';
import { durationArg, type Flags, options, requireConfig } from './args.js';
import { NODES_USAGE, nodeLines, nodeSetup } from './simulate-nodes.js';

export const SIMULATE_USAGE = `Usage:
  microscaler simulate -c FILE --trace FILE.csv [--time-scale N] [--policies microscaler,hpa,...]
                       [--json] [--plot FILE.html] [--target-delay 2s] [--seed N]
                       [--start-up 120ms..1250ms] [--stop 1050ms..1800ms]
                       [--nodes N[,SIZE] [--start-nodes K] [--boot 90s..240s] [--removal 30s..60s]]

Replays each service's trace source (the file from --trace, or file: in the source) through each policy on a
simulated cluster of the config's capacity, and scores them (docs/simulator.md).
Policies: ${Object.keys(POLICIES).join(', ')} (default: ${DEFAULT_POLICIES.join(',')}).
${NODES_USAGE}`;

export interface Output {
  write(text: string): unknown;
}

/** Runs `simulate`; returns the exit status (0 ok, 1 failure, 2 bad usage or config). */
export async function simulateCommand(
  args: string[],
  out: Output = process.stdout,
  err: Output = process.stderr,
): Promise<number> {
  try {
    return await simulate(args, out);
  } catch (error) {
    if (error instanceof ConfigError) {
      err.write(`${error.problems.join('\n')}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      err.write(`microscaler simulate: ${error.message}\n\n${SIMULATE_USAGE}`);
      return 2;
    }
    err.write(`microscaler simulate: ${errorMessage(error)}\n`);
    return 1;
  }
}

async function simulate(args: string[], out: Output): Promise<number> {
  const values = options(args, {
    config: { type: 'string', short: 'c' },
    trace: { type: 'string' },
    'time-scale': { type: 'string' },
    policies: { type: 'string' },
    json: { type: 'boolean' },
    plot: { type: 'string' },
    'target-delay': { type: 'string' },
    seed: { type: 'string' },
    'start-up': { type: 'string' },
    stop: { type: 'string' },
    nodes: { type: 'string' },
    'start-nodes': { type: 'string' },
    boot: { type: 'string' },
    removal: { type: 'string' },
  });
  if (values.help) {
    out.write(SIMULATE_USAGE);
    return 0;
  }
  const file = requireConfig(values.config);
  const timeScale = optionalNumber('--time-scale', values['time-scale']);
  const seed = optionalNumber('--seed', values.seed) ?? 1;
  if (!Number.isInteger(seed)) throw new UsageError('--seed: must be an integer');
  const targetDelayMs = durationArg('--target-delay', values['target-delay']) ?? 2000;
  const startUp = rangeFlag('--start-up', values['start-up']) ?? DOCKER_START;
  const stop = rangeFlag('--stop', values.stop) ?? DOCKER_STOP;
  const withNodes = values.nodes !== undefined;
  const registry = withNodes ? NODE_POLICIES : POLICIES;
  const names =
    typeof values.policies === 'string'
      ? values.policies
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '')
      : withNodes
        ? DEFAULT_NODE_POLICIES
        : DEFAULT_POLICIES;
  for (const name of names) {
    if (!Object.hasOwn(registry, name)) {
      throw new UsageError(
        `--policies: unknown policy "${name}"${withNodes ? ' with --nodes' : ''} (known: ${Object.keys(registry).join(', ')})`,
      );
    }
  }
  if (names.length === 0) throw new UsageError('--policies: name at least one policy');

  // The file may come from --trace instead of the source: `file` is optional here, unlike for `run`.
  const config = await loadConfig(file, process.env, {
    sourceSchemas: { ...sourceSchemas, trace: traceSchema.partial({ file: true }) },
    schedulerSchemas,
  });
  const traceFlag = typeof values.trace === 'string' ? resolve(values.trace) : undefined;
  const { demand, files } = await replayedColumns(config, dirname(resolve(file)), traceFlag, timeScale);
  if (demand.size === 0) {
    throw new ConfigError(['services: no service has a trace source to replay (source: {type: trace})']);
  }
  const capacity = config.capacity.replicas;
  const flat = buildSetup({
    capacity,
    intervalMs: config.intervalMs,
    readTimeoutMs: config.readTimeoutMs,
    // A max left to a live capacity ("as much as capacity allows", Infinity) is the simulated capacity:
    // the peers' algorithms need a number.
    services: config.services.map((s) => (Number.isFinite(s.max) ? s : { ...s, max: capacity })),
    demand,
    targetDelayMs,
    startUp,
    stop,
    seed,
  });
  const scales = [...new Set([...demand.values()].map((d) => d.timeScale))];
  const nodes = nodeSetup(
    {
      nodes: typeof values.nodes === 'string' ? values.nodes : undefined,
      startNodes: optionalNumber('--start-nodes', values['start-nodes']),
      boot: rangeFlag('--boot', values.boot),
      removal: rangeFlag('--removal', values.removal),
    },
    flat,
    scales.length === 1 ? (scales[0] as number) : 1,
  );
  const setup: SimSetup = nodes ? { ...flat, nodes, capacity: nodes.max * nodes.size } : flat;

  const runs: { name: string; result: SimResult }[] = [];
  for (const name of names) {
    runs.push({ name, result: await runSimulation(setup, registry[name] as (typeof POLICIES)[string]) });
  }
  const traceName = files.map((f) => basename(f)).join(', ');
  if (values.plot !== undefined) {
    const title = `${traceName} (${timeLabel(scales)}), capacity ${setup.capacity}`;
    await writeFile(
      String(values.plot),
      plotHtml(
        title,
        setup.capacity,
        runs.map((r) => ({ name: r.name, series: r.result.series })),
      ),
    );
  }
  if (values.json) {
    out.write(
      `${JSON.stringify(
        {
          trace: traceName,
          timeScale: scales.length === 1 ? scales[0] : scales,
          capacity: setup.capacity,
          durationSeconds: setup.durationMs / 1000,
          targetDelaySeconds: setup.targetDelayMs / 1000,
          ...(nodes ? { nodes } : {}),
          policies: runs.map((r) => ({ name: r.name, scores: { ...r.result.scores, ...r.result.nodes } })),
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  out.write(report(traceName, scales, setup, runs));
  return 0;
}

/** Finds, for every service with a trace source, its column and replay speed. */
async function replayedColumns(
  config: Config,
  baseDir: string,
  traceFlag: string | undefined,
  timeScale: number | undefined,
): Promise<{ demand: Map<string, { column: TraceColumn; timeScale: number }>; files: string[] }> {
  const problems: string[] = [];
  const traces = new Map<string, Trace>();
  const demand = new Map<string, { column: TraceColumn; timeScale: number }>();
  for (const s of config.services) {
    if (!s.source) continue;
    const at = `services.${s.name}.demand.source`;
    if (s.source.type !== 'trace') {
      problems.push(`${at}.type: simulate replays trace sources only, got "${s.source.type}"`);
      continue;
    }
    const path = typeof s.source.file === 'string' ? resolve(baseDir, s.source.file) : traceFlag;
    if (path === undefined) {
      problems.push(`${at}.file: required when --trace is not given`);
      continue;
    }
    let trace = traces.get(path);
    if (!trace) {
      try {
        trace = await loadTrace(path);
      } catch (error) {
        problems.push(`${at}.file: ${errorMessage(error)}`);
        continue;
      }
      traces.set(path, trace);
    }
    const named = typeof s.source.service === 'string' ? s.source.service : undefined;
    const columns = [...trace.services.keys()];
    const column = named ?? (trace.services.has(s.name) || columns.length !== 1 ? s.name : columns[0]);
    const series = column === undefined ? undefined : trace.services.get(column);
    if (!series) {
      problems.push(
        `${at}.service: unknown service "${column}" in ${path} (services: ${columns.join(', ')})`,
      );
      continue;
    }
    const scale = timeScale ?? (typeof s.source.timeScale === 'number' ? s.source.timeScale : 1);
    demand.set(s.name, { column: { step: trace.step, demand: series.demand }, timeScale: scale });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { demand, files: [...traces.keys()] };
}

function timeLabel(scales: number[]): string {
  return scales
    .map((s) =>
      s === 1
        ? 'real time'
        : `time-compressed ×${s}${s === 60 ? ': a trace minute per simulated second' : ''}`,
    )
    .join(', ');
}

const fmt = (x: number, digits = 1) =>
  Number.isFinite(x) ? x.toLocaleString('en-GB', { maximumFractionDigits: digits }) : '∞';
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The text report: one row per policy, then microscaler's ratios to every other policy. */
function report(
  traceName: string,
  scales: number[],
  setup: SimSetup,
  runs: readonly { name: string; result: SimResult }[],
): string {
  const lines = [
    `trace ${traceName}, ${timeLabel(scales)}: ${fmt(setup.durationMs / 1000, 0)} simulated s, capacity ${setup.nodes ? 'at most ' : ''}${setup.capacity} replicas`,
    `start-up ${describeDuration(setup.startUp)}, stop ${describeDuration(setup.stop)}, late after ${setup.targetDelayMs / 1000} s, seed ${setup.seed}`,
    '',
    row([
      'policy',
      'p1 late',
      'p1 max backlog',
      'utilisation',
      'p2 work (replica-s)',
      'churn/h',
      'overshoot',
      ...(setup.nodes ? ['node-hours', 'peak nodes'] : []),
    ]),
  ];
  for (const { name, result } of runs) {
    const s = result.scores;
    const n = result.nodes;
    lines.push(
      row([
        name,
        pct(s.p1LateWork),
        fmt(s.p1MaxBacklog),
        pct(s.utilisation),
        fmt(s.p2WorkDone, 0),
        fmt(s.churnPerHour, 0),
        String(s.overshoot),
        ...(n ? [fmt(n.nodeHours, 2), String(n.peakNodes)] : []),
      ]),
    );
  }
  const ours = runs.find((r) => r.name === 'microscaler')?.result.scores;
  if (ours && runs.length > 1) {
    lines.push(
      '',
      'microscaler ÷ policy (late work and backlog: lower is better; p2 work and utilisation: higher)',
    );
    lines.push(
      row(['policy', 'p1 late', 'p1 max backlog', 'utilisation', 'p2 work', 'churn/h', 'overshoot']),
    );
    for (const { name, result } of runs) {
      if (name === 'microscaler') continue;
      const s: Scores = result.scores;
      lines.push(
        row([
          name,
          fmt(ratio(ours.p1LateWork, s.p1LateWork), 2),
          fmt(ratio(ours.p1MaxBacklog, s.p1MaxBacklog), 2),
          fmt(ratio(ours.utilisation, s.utilisation), 3),
          fmt(ratio(ours.p2WorkDone, s.p2WorkDone), 3),
          fmt(ratio(ours.churnPerHour, s.churnPerHour), 2),
          fmt(ratio(ours.overshoot, s.overshoot), 2),
        ]),
      );
    }
  }
  if (setup.nodes) lines.push('', ...nodeLines(setup.nodes, runs));
  return `${lines.join('\n')}\n`;
}

function row(cells: string[]): string {
  const widths = [24, 9, 15, 12, 20, 9, 10];
  return cells.map((c, k) => (k === 0 ? c.padEnd(widths[k] ?? 10) : c.padStart(widths[k] ?? 10))).join(' ');
}

function optionalNumber(flag: string, value: Flags[string]): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag}: expected a number > 0, got "${String(value)}"`);
  }
  return n;
}

/** `500ms` (fixed) or `120ms..1250ms` (uniform). */
function rangeFlag(flag: string, value: Flags[string]): Duration | undefined {
  if (value === undefined) return undefined;
  const [a = '', b] = String(value).split('..');
  const min = durationArg(flag, a) as number;
  if (b === undefined) return { kind: 'fixed', ms: min };
  const max = durationArg(flag, b) as number;
  if (max < min) throw new UsageError(`${flag}: the range ${value} ends before it starts`);
  return { kind: 'uniform', minMs: min, maxMs: max };
}
