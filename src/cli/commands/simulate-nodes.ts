// `simulate --nodes`: the flags of a simulated cluster of nodes (issue 15 §3) and the lines they add to the report.
import {
  DEFAULT_BOOT,
  DEFAULT_REMOVAL,
  type Duration,
  describeDuration,
  longest,
  type NodeSetup,
  nodesAtStart,
  ratio,
  type SimResult,
  type SimSetup,
} from '../../sim/index.js';
import { UsageError } from '../usage-error.js';

export const NODES_USAGE = `  --nodes N[,SIZE]   a cluster of at most N nodes of SIZE replicas each (default SIZE: the config's capacity ÷ N,
                     rounded up); the policies become ${'microscaler'} (with its pressure rules), hpa+ca, keda+ca,
                     fleet (N nodes all the time) and oracle, and the report adds node-hours and peak nodes
  --start-nodes K    nodes at the start (default: what the priority-1 peak within the first longest boot needs)
  --boot 90s..240s   a node's boot (default 90–240 s uniform), --removal 30s..60s its removal after the drain;
                     both in trace time: with --time-scale they and every node-level window are compressed alike
`;

export interface NodeFlags {
  readonly nodes: string | undefined;
  readonly startNodes: number | undefined;
  readonly boot: Duration | undefined;
  readonly removal: Duration | undefined;
}

/** The cluster of nodes the flags ask for, or undefined without --nodes. */
export function nodeSetup(flags: NodeFlags, setup: SimSetup, timeScale: number): NodeSetup | undefined {
  if (flags.nodes === undefined) {
    for (const [flag, v] of [
      ['--start-nodes', flags.startNodes],
      ['--boot', flags.boot],
      ['--removal', flags.removal],
    ] as const) {
      if (v !== undefined) throw new UsageError(`${flag}: only with --nodes`);
    }
    return undefined;
  }
  const [n = '', sizeText, ...rest] = flags.nodes.split(',').map((p) => p.trim());
  const most = Number(n);
  if (rest.length > 0 || !Number.isInteger(most) || most < 1) {
    throw new UsageError(`--nodes: expected N[,SIZE] with whole numbers ≥ 1, got "${flags.nodes}"`);
  }
  const size = sizeText === undefined ? Math.ceil(setup.capacity / most) : Number(sizeText);
  if (!Number.isInteger(size) || size < 1) {
    throw new UsageError(`--nodes: SIZE must be a whole number ≥ 1, got "${sizeText}"`);
  }
  const boot = flags.boot ?? DEFAULT_BOOT;
  const initial =
    flags.startNodes ?? Math.min(most, nodesAtStart(setup.services, size, longest(boot) / timeScale));
  if (!Number.isInteger(initial) || initial > most) {
    throw new UsageError(`--start-nodes: expected a whole number from 1 to ${most}, got ${initial}`);
  }
  return {
    size,
    initial: Math.min(most, initial),
    min: 1,
    max: most,
    boot,
    removal: flags.removal ?? DEFAULT_REMOVAL,
    timeScale,
  };
}

/** The report's lines about the nodes: what they are, and microscaler's targets against HPA + CA and the oracle. */
export function nodeLines(nodes: NodeSetup, runs: readonly { name: string; result: SimResult }[]): string[] {
  const compressed =
    nodes.timeScale === 1
      ? ''
      : `; compressed ×${nodes.timeScale}: boot, removal and node-level windows ÷ ${nodes.timeScale} alike, node-hours in trace time`;
  const lines = [
    `nodes: at most ${nodes.max} of ${nodes.size} replicas, ${nodes.initial} at the start; boot ${describeDuration(nodes.boot)}, removal ${describeDuration(nodes.removal)}${compressed}`,
  ];
  const find = (name: string) => runs.find((r) => r.name === name)?.result;
  const ms = find('microscaler');
  if (!ms?.nodes) return lines;
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞');
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const ca = find('hpa+ca');
  if (ca?.nodes) {
    lines.push(
      `microscaler ÷ hpa+ca node-hours ${fmt(ratio(ms.nodes.nodeHours, ca.nodes.nodeHours))} (target ≤ 1); p1 late ${pct(ms.scores.p1LateWork)} against ${pct(ca.scores.p1LateWork)} (target: no higher)`,
    );
  }
  const oracle = find('oracle');
  if (oracle?.nodes) {
    lines.push(
      `microscaler ÷ oracle node-hours ${fmt(ratio(ms.nodes.nodeHours, oracle.nodes.nodeHours))} (target ≤ 1.10)`,
    );
  }
  return lines;
}
