// What a Kubernetes cluster offers microscaler (issue 15, `capacity: { from: scheduler }`): the sum of
// `status.allocatable` over nodes that are Ready, schedulable and match the node selector, less what the
// pods that are not ours request on them (pods that have finished hold nothing). Our own replicas are
// left in: capacity is what they may use, so counting them would shrink it as they start.
import type { ClusterResources } from '../core/types.js';
import type { KubeClient } from '../infra/kube-client.js';

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("3800m", "16Gi", "1e3", "128974848") as a number; NaN when it is none. */
export function quantity(text: string | undefined): number {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    (text ?? '').trim(),
  );
  if (!m) return Number.NaN;
  const [, digits, exponent, suffix] = m;
  return (
    Number(digits) * (exponent !== undefined ? 10 ** Number(exponent) : (SUFFIX[suffix ?? ''] ?? Number.NaN))
  );
}

interface Node {
  readonly metadata: { readonly name: string };
  readonly spec?: { readonly unschedulable?: boolean };
  readonly status?: {
    readonly allocatable?: { readonly cpu?: string; readonly memory?: string };
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

interface Requests {
  readonly resources?: { readonly requests?: { readonly cpu?: string; readonly memory?: string } };
}

interface Pod {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly nodeName?: string;
    readonly containers?: readonly Requests[];
    readonly initContainers?: readonly Requests[];
  };
}

/** A pod's effective request: its containers' sum, or its largest init container's, whichever is more. */
function podRequest(p: Pod, what: 'cpu' | 'memory'): number {
  const of = (c: Requests) => quantity(c.resources?.requests?.[what] ?? '0') || 0;
  const sum = (p.spec?.containers ?? []).reduce((a, c) => a + of(c), 0);
  return Math.max(sum, ...(p.spec?.initContainers ?? []).map(of));
}

export async function kubeResources(
  client: KubeClient,
  options: {
    /** Whether a pod is one of our replicas (it matches the selector of a workload we scale). */
    readonly ours: (pod: {
      readonly namespace: string;
      readonly labels: Readonly<Record<string, string>>;
    }) => boolean;
    readonly nodeSelector?: Readonly<Record<string, string>>;
  },
  signal?: AbortSignal,
): Promise<ClusterResources> {
  const selector = Object.entries(options.nodeSelector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const request = { ...(signal ? { signal } : {}) };
  const [nodes, pods] = await Promise.all([
    client.request<{ items: Node[] }>('GET', '/api/v1/nodes', {
      ...request,
      ...(selector ? { query: { labelSelector: selector } } : {}),
    }),
    client.request<{ items: Pod[] }>('GET', '/api/v1/pods', {
      ...request,
      query: { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' },
    }),
  ]);
  const out = { cpu: 0, memory: 0, nodes: 0, notes: [] as string[] };
  const counted = new Set<string>();
  for (const n of nodes.items) {
    const name = n.metadata.name;
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const cpu = quantity(n.status?.allocatable?.cpu);
    const memory = quantity(n.status?.allocatable?.memory);
    const why = !ready
      ? 'not ready'
      : n.spec?.unschedulable
        ? 'cordoned'
        : !(cpu >= 0 && memory >= 0)
          ? 'without allocatable cpu and memory'
          : undefined;
    if (why) {
      out.notes.push(`node ${name} ${why}`);
      continue;
    }
    out.cpu += cpu;
    out.memory += memory;
    out.nodes++;
    counted.add(name);
  }
  for (const p of pods.items) {
    if (!p.spec?.nodeName || !counted.has(p.spec.nodeName)) continue;
    if (options.ours({ namespace: p.metadata.namespace ?? 'default', labels: p.metadata.labels ?? {} }))
      continue;
    out.cpu -= podRequest(p, 'cpu');
    out.memory -= podRequest(p, 'memory');
  }
  return { ...out, cpu: Math.max(0, out.cpu), memory: Math.max(0, out.memory) };
}
