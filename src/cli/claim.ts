// Which claim an instance takes on its back-end (src/ha/claim.ts), per scheduler type. Without `ha:` only:
// with it, the leader lease decides who acts. The process back-end locks its state folder instead.
import type { LoadedConfig } from '../config/load.js';
import type { Claim } from '../ha/claim.js';
import { DockerClaim } from '../ha/docker-claim.js';
import { KubeLease } from '../ha/kube-lease.js';
import { NomadClaim } from '../ha/nomad-claim.js';
import { SwarmClaim } from '../ha/swarm-claim.js';
import { TagClaim, type TagStore } from '../ha/tag-claim.js';
import { DockerApi } from '../infra/docker-api.js';
import { resolveKubeTarget } from '../schedulers/kube-config.js';

export interface ClaimOptions {
  readonly ttlMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The claim for this config's back-end, or undefined when none is taken (ha:, process). */
export async function createClaim(config: LoadedConfig, options: ClaimOptions): Promise<Claim | undefined> {
  if (config.ha) return undefined;
  const { type, ...settings } = config.scheduler;
  const text = (key: string) => (typeof settings[key] === 'string' ? (settings[key] as string) : undefined);
  const instance = config.name;
  const { ttlMs, env } = options;
  switch (type) {
    case 'docker':
      return new DockerClaim({
        api: DockerApi.fromEnv(env as NodeJS.ProcessEnv, text('host')),
        instance,
        ttlMs,
      });
    case 'swarm':
      return new SwarmClaim({
        api: DockerApi.fromEnv(env as NodeJS.ProcessEnv, text('host')),
        instance,
        ttlMs,
      });
    case 'kubernetes':
      return kubeClaim(instance, ttlMs, env, text);
    case 'nomad':
      // The agent and token as the nomad back-end finds them.
      return new NomadClaim({
        address: text('address') ?? env.NOMAD_ADDR ?? 'http://127.0.0.1:4646',
        token: text('token') ?? (env.NOMAD_TOKEN || undefined),
        namespace: text('namespace'),
        region: text('region'),
        instance,
        ttlMs,
      });
    case 'ecs': {
      const cluster = text('cluster') ?? '';
      const store = await ecsTagStore(
        { cluster, region: text('region'), endpoint: text('endpoint') },
        instance,
      );
      return new TagClaim({ store, where: `tag ${ecsClaimTag(instance)} on ECS cluster ${cluster}`, ttlMs });
    }
    default:
      // process: a lock on its state folder. marathon: no object to claim (docs/clusters.md); use ha:.
      return undefined;
  }
}

/** What start-up says when an instance on a shared back-end takes no claim there; undefined otherwise. */
export function unclaimedWarning(config: LoadedConfig): string | undefined {
  if (config.ha || config.scheduler.type !== 'marathon') return undefined;
  return (
    `marathon has no object instance "${config.name}" can claim without restarting tasks: a second run of ` +
    'it would not be noticed. Run one only, or configure ha: (docs/clusters.md)'
  );
}

export function ecsClaimTag(instance: string): string {
  return `microscaler.claim/${instance}`;
}

/**
 * The claim's tag on the ECS cluster, with the SDK the ecs back-end uses; `extra` is client config (tests
 * pass credentials). Needs ecs:DescribeClusters, ecs:ListTagsForResource and ecs:TagResource on the cluster.
 */
export async function ecsTagStore(
  settings: { cluster: string; region?: string | undefined; endpoint?: string | undefined },
  instance: string,
  extra: Record<string, unknown> = {},
): Promise<TagStore> {
  const sdk = await import('@aws-sdk/client-ecs');
  const client = new sdk.ECSClient({
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    maxAttempts: 2,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...extra,
  });
  const key = ecsClaimTag(instance);
  let arn: string | undefined;
  const clusterArn = async (abortSignal: AbortSignal): Promise<string> => {
    if (arn) return arn;
    const out = await client.send(new sdk.DescribeClustersCommand({ clusters: [settings.cluster] }), {
      abortSignal,
    });
    const found = out.clusters?.[0]?.clusterArn;
    if (!found) throw new Error(`ecs claim: no ECS cluster ${settings.cluster}`);
    arn = found;
    return found;
  };
  return {
    async read(abortSignal) {
      const resourceArn = await clusterArn(abortSignal);
      const out = await client.send(new sdk.ListTagsForResourceCommand({ resourceArn }), { abortSignal });
      return out.tags?.find((t) => t.key === key)?.value;
    },
    async write(value, abortSignal) {
      const resourceArn = await clusterArn(abortSignal);
      await client.send(new sdk.TagResourceCommand({ resourceArn, tags: [{ key, value }] }), { abortSignal });
    },
    close: () => client.destroy(),
  };
}

/** A coordination.k8s.io Lease `microscaler-<instance>-claim` in the workloads' namespace. */
function kubeClaim(
  instance: string,
  ttlMs: number,
  env: ClaimOptions['env'],
  text: (key: string) => string | undefined,
): Claim {
  const kubeconfig = text('kubeconfig');
  const context = text('context');
  const target = resolveKubeTarget({
    env,
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(context ? { context } : {}),
  });
  const namespace = text('namespace') ?? target.namespace ?? 'default';
  // As the ha: Lease's default name: lower case, anything but letters and digits as "-".
  const name = `microscaler-${instance.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-claim`;
  const lease = new KubeLease({ connection: target.connection, namespace, name, ttlMs });
  return Object.assign(lease, { where: `Lease ${namespace}/${name}` });
}
