// The live capacity of a config (issue 15) as the controller's CapacitySource: what the back-end's machines
// offer (`from: scheduler`: their total less the reserve, replicas fixed or perNode × nodes, and why it
// changed: "node n3 not ready"), or a source's value as the replica count (`source:`).
import { ConfigError } from '../core/errors.js';
import type { CapacitySource, Clock, Logger, Scheduler, Source } from '../core/ports.js';
import type {
  Capacity,
  ClusterResources,
  Config,
  SchedulerCapacity,
  SourceCapacity,
  SourceResult,
} from '../core/types.js';
import { createSource } from '../sources/registry.js';

type Reading = Awaited<ReturnType<CapacitySource['read']>>;

/** Pure: the capacity the machines give: cpu and memory less the reserve (never below 0), the replicas. */
export function capacityFromResources(
  live: SchedulerCapacity,
  r: ClusterResources,
): { capacity: Capacity; nodes: number } {
  const replicas = 'fixed' in live.replicas ? live.replicas.fixed : live.replicas.perNode * r.nodes;
  return {
    capacity: {
      replicas,
      // Millicores, whole bytes: the sum of floats must not look like a change from one read to the next.
      cpu: Math.max(0, Math.round((r.cpu - live.reserve.cpu) * 1000) / 1000),
      memory: Math.max(0, Math.floor(r.memory - live.reserve.memory)),
    },
    nodes: r.nodes,
  };
}

/** "node n3 not ready (down)" gone: "node n3 ready again"; "node n3 draining" gone: "node n3 no longer draining". */
function backAgain(note: string): string {
  const m = /^node (\S+) (.*)$/.exec(note);
  if (!m) return `no longer: ${note}`;
  const [, name, what = ''] = m;
  const plain = what.replace(/\s*\([^)]*\)$/, '');
  return plain.startsWith('not ')
    ? `node ${name} ${plain.slice(4)} again`
    : `node ${name} no longer ${plain}`;
}

const SHOWN = 3;

/**
 * Pure: what changed between two readings of the nodes, for people: notes that appeared as they are, notes
 * that went as "... again", else the change in the node count; undefined when nothing did.
 */
export function notesChange(
  before: { readonly notes: readonly string[]; readonly nodes: number } | undefined,
  now: { readonly notes: readonly string[]; readonly nodes: number },
): string | undefined {
  if (!before) return now.notes.length > 0 ? list(now.notes) : undefined;
  const was = new Set(before.notes);
  const is = new Set(now.notes);
  const parts = [
    ...now.notes.filter((n) => !was.has(n)),
    ...before.notes.filter((n) => !is.has(n)).map(backAgain),
  ];
  if (parts.length > 0) return list(parts);
  if (before.nodes !== now.nodes) return `${before.nodes} → ${now.nodes} nodes`;
  return undefined;
}

function list(parts: readonly string[]): string {
  const shown = parts.slice(0, SHOWN).join(', ');
  return parts.length > SHOWN ? `${shown} and ${parts.length - SHOWN} more` : shown;
}

/**
 * `from: scheduler`. A reading's `why` explains it against the readings before its capacity was last
 * different, and keeps doing so while the capacity stays: a drop the controller takes only once it has
 * lasted (its guard's confirm) still says which nodes went.
 */
export class SchedulerCapacitySource implements CapacitySource {
  /** The capacity of the latest readings, and the nodes as the readings before them saw them. */
  private run: { capacity: Capacity; before: ClusterResources | undefined } | undefined;
  private last: ClusterResources | undefined;

  constructor(
    private readonly live: SchedulerCapacity,
    private readonly resources: NonNullable<Scheduler['resources']>,
  ) {}

  async read(signal: AbortSignal): Promise<Reading> {
    const r = await this.resources(signal, this.live.nodes);
    const { capacity, nodes } = capacityFromResources(this.live, r);
    if (!this.run || !same(this.run.capacity, capacity)) this.run = { capacity, before: this.last };
    this.last = r;
    const why = notesChange(this.run.before, r);
    return { capacity, nodes, ...(why ? { why } : {}) };
  }

  async close(): Promise<void> {
    // The scheduler is closed by whoever built it.
  }
}

function same(a: Capacity, b: Capacity): boolean {
  return a.replicas === b.replicas && a.cpu === b.cpu && a.memory === b.memory;
}

/** Pure: a source's result as a capacity: its value, rounded down, is the replica count. */
export function capacityFromResult(live: SourceCapacity, result: SourceResult): Capacity {
  if (!result.ok) throw new Error(`capacity source (${live.source.type}): ${result.error}`);
  return {
    replicas: Math.floor(result.reading.value),
    ...(live.cpu !== undefined ? { cpu: live.cpu } : {}),
    ...(live.memory !== undefined ? { memory: live.memory } : {}),
  };
}

/** `source:`. A failed read throws its error (the controller holds the capacity in force and says why). */
export class SourceCapacitySource implements CapacitySource {
  private lastReplicas: number | undefined;

  constructor(
    private readonly live: SourceCapacity,
    private readonly source: Source,
  ) {}

  async read(signal: AbortSignal): Promise<Reading> {
    const capacity = capacityFromResult(this.live, await this.source.read(signal));
    const changed = this.lastReplicas !== capacity.replicas;
    this.lastReplicas = capacity.replicas;
    return {
      capacity,
      ...(changed ? { why: `the ${this.live.source.type} source says ${capacity.replicas}` } : {}),
    };
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

export interface CapacitySourceContext {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Relative paths in a source's settings (a trace file) resolve against this folder. */
  readonly baseDir: string;
}

/**
 * The config's live capacity as a CapacitySource, or undefined for a fixed capacity. A ConfigError when the
 * back-end cannot report its machines or the source cannot be built (problems as `capacity.` paths).
 */
export async function buildCapacitySource(
  config: Config,
  scheduler: Scheduler,
  ctx: CapacitySourceContext,
): Promise<CapacitySource | undefined> {
  const live = config.liveCapacity;
  if (!live) return undefined;
  if (live.from === 'scheduler') {
    const resources = scheduler.resources?.bind(scheduler);
    if (!resources) {
      throw new ConfigError([
        `capacity.from: the ${config.scheduler.type} back-end cannot report what its machines offer; give capacity as replicas, or from a source`,
      ]);
    }
    return new SchedulerCapacitySource(live, resources);
  }
  return openSourceCapacity(live, ctx);
}

/** `source:` as a CapacitySource (also what `validate` opens and closes, to check what only opening can). */
export async function openSourceCapacity(
  live: SourceCapacity,
  ctx: CapacitySourceContext,
): Promise<SourceCapacitySource> {
  try {
    const source = await createSource(live.source, { ...ctx, service: 'capacity' });
    return new SourceCapacitySource(live, source);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.problems.map((p) => `capacity.${p}`));
    throw error;
  }
}
