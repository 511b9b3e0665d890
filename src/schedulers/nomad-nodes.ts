// What a Nomad cluster offers microscaler (issue 15, `capacity: { from: scheduler }`): the nodes that are
// ready, eligible for scheduling and not draining, in the wanted node pool (and class, datacenter) and
// carrying the wanted meta, summed from GET /v1/nodes?resources=true (NodeResources less ReservedResources).
//
// `nodes:` keys: `node.pool`, `node.class` and `node.datacenter` match the node's NodePool, NodeClass and
// Datacenter (as `${node.pool}` does in a Nomad constraint); any other key, written `meta.KEY` or `KEY`,
// matches the node's Meta. The node list does not carry Meta, so a node's Meta is read once
// (GET /v1/node/:id) and again only when its ModifyIndex moves.
import type { ClusterResources } from '../core/types.js';
import { answerMessage } from '../infra/http-json.js';
import type { ClusterApi } from './cluster-http.js';

/** One node of GET /v1/nodes?resources=true, the fields read. */
export interface NomadNodeStub {
  readonly ID: string;
  readonly Name?: string;
  readonly Datacenter?: string;
  readonly NodeClass?: string;
  readonly NodePool?: string;
  readonly Status?: string;
  readonly SchedulingEligibility?: string;
  readonly Drain?: boolean;
  readonly ModifyIndex?: number;
  readonly NodeResources?: {
    readonly Cpu?: { readonly CpuShares?: number; readonly TotalCpuCores?: number } | null;
    readonly Memory?: { readonly MemoryMB?: number } | null;
  } | null;
  readonly ReservedResources?: {
    readonly Cpu?: { readonly CpuShares?: number } | null;
    readonly Memory?: { readonly MemoryMB?: number } | null;
  } | null;
}

type Labels = Readonly<Record<string, string>>;

const FIELDS: Readonly<Record<string, keyof NomadNodeStub>> = {
  'node.pool': 'NodePool',
  'node.class': 'NodeClass',
  'node.datacenter': 'Datacenter',
};

/** The wanted labels that are Meta keys (not node.pool/class/datacenter), without a `meta.` prefix. */
export function metaWanted(wanted: Labels): Labels {
  return Object.fromEntries(
    Object.entries(wanted)
      .filter(([k]) => !Object.hasOwn(FIELDS, k))
      .map(([k, v]) => [k.startsWith('meta.') ? k.slice(5) : k, v]),
  );
}

/** Why a node is left out, or undefined when it counts. */
function leftOut(n: NomadNodeStub, wanted: Labels, meta: Labels | undefined): string | undefined {
  if (n.Status !== 'ready') return `not ready (${n.Status ?? 'unknown'})`;
  if (n.Drain) return 'draining';
  if (n.SchedulingEligibility !== 'eligible') return 'not eligible for scheduling';
  for (const [k, field] of Object.entries(FIELDS)) {
    const want = wanted[k];
    if (want !== undefined && n[field] !== want) return `not in ${k} ${want}`;
  }
  for (const [k, v] of Object.entries(metaWanted(wanted))) {
    if (meta?.[k] !== v) return `without meta ${k}=${v}`;
  }
  if (!(Number(n.NodeResources?.Cpu?.TotalCpuCores) > 0))
    return 'reports no cpu cores (Nomad 1.1 or later does)';
  return undefined;
}

/** Cores and bytes a counted node offers: its resources less what Nomad reserves on it. */
function offered(n: NomadNodeStub): { cpu: number; memory: number } {
  const cores = Number(n.NodeResources?.Cpu?.TotalCpuCores) || 0;
  const shares = Number(n.NodeResources?.Cpu?.CpuShares) || 0;
  const reservedShares = Number(n.ReservedResources?.Cpu?.CpuShares) || 0;
  // Reserved cpu is given in MHz: the same fraction of the cores.
  const cpu = shares > 0 ? cores * Math.max(0, 1 - reservedShares / shares) : cores;
  const mb =
    (Number(n.NodeResources?.Memory?.MemoryMB) || 0) - (Number(n.ReservedResources?.Memory?.MemoryMB) || 0);
  return { cpu, memory: Math.max(0, mb) * 2 ** 20 };
}

/** Pure: the sum over the nodes that count, with a note for each left out. */
export function countNomadNodes(
  nodes: readonly NomadNodeStub[],
  wanted: Labels,
  metaOf: (id: string) => Labels | undefined = () => undefined,
): ClusterResources {
  const out = { cpu: 0, memory: 0, nodes: 0, notes: [] as string[] };
  for (const n of nodes) {
    const why = leftOut(n, wanted, metaOf(n.ID));
    if (why) {
      out.notes.push(`node ${n.Name ?? n.ID} ${why}`);
      continue;
    }
    const { cpu, memory } = offered(n);
    out.cpu += cpu;
    out.memory += memory;
    out.nodes++;
  }
  return out;
}

/** Reads the node list, and the Meta of nodes that may count when `wanted` asks for meta. */
export class NomadNodes {
  /** Meta per node ID, with the ModifyIndex it was read at. */
  private readonly metas = new Map<string, { index: number | undefined; meta: Labels }>();

  constructor(private readonly api: ClusterApi) {}

  async read(wanted: Labels, signal?: AbortSignal): Promise<ClusterResources> {
    const answer = await this.api.send('GET', '/v1/nodes', { query: { resources: 'true' }, signal });
    if (answer.status === 401 || answer.status === 403) {
      throw new Error(
        `nomad scheduler: reading the node list was refused (HTTP ${answer.status}: ${answerMessage(answer)}); capacity from the scheduler needs an ACL token with node:read`,
      );
    }
    if (answer.status >= 300) throw this.api.failure(answer, 'the node list');
    const nodes = answer.body as NomadNodeStub[];
    if (Object.keys(metaWanted(wanted)).length > 0) await this.readMetas(nodes, signal);
    return countNomadNodes(nodes, wanted, (id) => this.metas.get(id)?.meta);
  }

  private async readMetas(nodes: readonly NomadNodeStub[], signal?: AbortSignal): Promise<void> {
    const present = new Set(nodes.map((n) => n.ID));
    for (const id of this.metas.keys()) if (!present.has(id)) this.metas.delete(id);
    const stale = nodes.filter((n) => n.Status === 'ready' && this.metas.get(n.ID)?.index !== n.ModifyIndex);
    await Promise.all(
      stale.map(async (n) => {
        const node = await this.api.call<{ Meta?: Labels | null }>(
          'GET',
          `/v1/node/${encodeURIComponent(n.ID)}`,
          `node ${n.Name ?? n.ID}`,
          { signal },
        );
        this.metas.set(n.ID, { index: n.ModifyIndex, meta: node.Meta ?? {} });
      }),
    );
  }
}
