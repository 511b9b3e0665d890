// What the machines behind a back-end offer (issue 15, `capacity: { from: scheduler }`): one reader per
// kind of cluster, each summing the nodes it may place replicas on and saying why it left any out.
import { availableParallelism, totalmem } from 'node:os';
import type { ClusterResources } from '../core/types.js';
import type { DockerApi } from '../infra/docker-api.js';

/** This machine, for the process back-end. */
export function machineResources(): ClusterResources {
  return { cpu: availableParallelism(), memory: totalmem(), nodes: 1, notes: [] };
}

/** One Docker engine: its `NCPU` and `MemTotal` (GET /info). */
export async function engineResources(api: DockerApi, signal?: AbortSignal): Promise<ClusterResources> {
  const { body } = await api.request<{ NCPU?: number; MemTotal?: number }>('GET', '/info', {
    timeoutMs: 10_000,
    ...(signal ? { signal } : {}),
  });
  if (!(Number(body.NCPU) > 0) || !(Number(body.MemTotal) > 0)) {
    throw new Error(
      `the engine's /info gave no NCPU or MemTotal (${JSON.stringify({ NCPU: body.NCPU, MemTotal: body.MemTotal })})`,
    );
  }
  return { cpu: Number(body.NCPU), memory: Number(body.MemTotal), nodes: 1, notes: [] };
}

interface SwarmNode {
  readonly ID: string;
  readonly Description?: {
    readonly Hostname?: string;
    readonly Resources?: { readonly NanoCPUs?: number; readonly MemoryBytes?: number };
  };
  readonly Spec?: { readonly Labels?: Readonly<Record<string, string>>; readonly Availability?: string };
  readonly Status?: { readonly State?: string };
}

/** Whether a node's labels hold every wanted one; why not, otherwise. */
export function labelsMiss(
  labels: Readonly<Record<string, string>> | undefined,
  wanted: Readonly<Record<string, string>>,
): string | undefined {
  for (const [k, v] of Object.entries(wanted)) {
    if (labels?.[k] !== v) return `not labelled ${k}=${v}`;
  }
  return undefined;
}

const AVAILABILITY: Readonly<Record<string, string>> = { pause: 'paused', drain: 'drained' };

/** A swarm: the nodes that are ready and active (not paused or drained) and carry the wanted labels. */
export async function swarmResources(
  api: DockerApi,
  wanted: Readonly<Record<string, string>> = {},
  signal?: AbortSignal,
): Promise<ClusterResources> {
  const { body } = await api.request<SwarmNode[]>('GET', '/nodes', {
    timeoutMs: 10_000,
    ...(signal ? { signal } : {}),
  });
  const out = { cpu: 0, memory: 0, nodes: 0, notes: [] as string[] };
  for (const n of body) {
    const name = n.Description?.Hostname ?? n.ID;
    const state = n.Status?.State ?? 'unknown';
    const availability = n.Spec?.Availability ?? 'unknown';
    const why =
      state !== 'ready'
        ? `not ready (${state})`
        : availability !== 'active'
          ? (AVAILABILITY[availability] ?? `availability ${availability}`)
          : labelsMiss(n.Spec?.Labels, wanted);
    if (why) {
      out.notes.push(`node ${name} ${why}`);
      continue;
    }
    out.cpu += (n.Description?.Resources?.NanoCPUs ?? 0) / 1e9;
    out.memory += n.Description?.Resources?.MemoryBytes ?? 0;
    out.nodes++;
  }
  return out;
}
