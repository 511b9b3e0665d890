// Which claim an instance takes on its back-end (src/ha/claim.ts), per scheduler type. Without `ha:` only:
// with it, the leader lease decides who acts. The process back-end locks its state folder instead.
import type { LoadedConfig } from '../config/load.js';
import type { Claim } from '../ha/claim.js';
import { DockerClaim } from '../ha/docker-claim.js';
import { KubeLease } from '../ha/kube-lease.js';
import { NomadClaim } from '../ha/nomad-claim.js';
import { SwarmClaim } from '../ha/swarm-claim.js';
import { DockerApi } from '../infra/docker-api.js';
import { resolveKubeTarget } from '../schedulers/kube-config.js';

export interface ClaimOptions {
  readonly ttlMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The claim for this config's back-end, or undefined when none is taken (ha:, process). */
export function createClaim(config: LoadedConfig, options: ClaimOptions): Claim | undefined {
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
    default:
      return undefined;
  }
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
