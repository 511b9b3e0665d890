// Where the Kubernetes API is and how to authenticate: the pod's service account when running in a cluster,
// otherwise a kubeconfig file (token, token file, or client certificate; CA from data or file).
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { errorMessage } from '../core/errors.js';
import type { KubeConnection } from '../infra/kube-client.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeTarget {
  readonly connection: KubeConnection;
  /** The namespace the credentials point at: the service account's, or the context's; undefined if unsaid. */
  readonly namespace: string | undefined;
}

export interface KubeConfigOptions {
  /** A kubeconfig file named in the settings: used even inside a cluster. */
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The service account's folder (a seam for tests). */
  readonly serviceAccountDir?: string;
  readonly home?: string;
}

/** Picks the credentials: the settings' kubeconfig, else in-cluster, else $KUBECONFIG or ~/.kube/config. */
export function resolveKubeTarget(options: KubeConfigOptions): KubeTarget {
  if (options.kubeconfig) return fromKubeconfig(options.kubeconfig, options.context);
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = options.env.KUBERNETES_SERVICE_HOST;
  if (host && exists(`${saDir}/token`)) return inCluster(host, options.env.KUBERNETES_SERVICE_PORT, saDir);
  const fromEnv = options.env.KUBECONFIG?.split(':').find((p) => p !== '');
  const file = fromEnv ?? resolve(options.home ?? homedir(), '.kube/config');
  return fromKubeconfig(file, options.context);
}

export function inCluster(host: string, port: string | undefined, saDir: string): KubeTarget {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const namespace = readOptional(`${saDir}/namespace`)?.trim();
  return {
    connection: {
      server: `https://${hostPart}:${port ?? '443'}`,
      ca: readOrExplain(`${saDir}/ca.crt`, 'the service account CA'),
      token: fileToken(`${saDir}/token`),
      describe: `service-account token from ${saDir}/token`,
    },
    namespace: namespace || undefined,
  };
}

/** A token read from a file, re-read whenever its modification time or size changes (it rotates). */
export function fileToken(path: string): () => string {
  let seen = '';
  let token = '';
  return () => {
    let stamp: string;
    try {
      const st = statSync(path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (error) {
      throw new Error(`kubernetes: cannot read the token file ${path}: ${errorMessage(error)}`);
    }
    if (stamp !== seen) {
      token = readOrExplain(path, 'the token file').toString('utf8').trim();
      seen = stamp;
    }
    return token;
  };
}

interface NamedEntry<T> {
  readonly name?: string;
  readonly [key: string]: unknown;
  readonly value?: T;
}

interface KubeconfigCluster {
  readonly server?: string;
  readonly 'certificate-authority'?: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
}
interface KubeconfigUser {
  readonly token?: string;
  readonly tokenFile?: string;
  readonly 'client-certificate'?: string;
  readonly 'client-certificate-data'?: string;
  readonly 'client-key'?: string;
  readonly 'client-key-data'?: string;
  readonly exec?: unknown;
  readonly 'auth-provider'?: unknown;
}
interface KubeconfigContext {
  readonly cluster?: string;
  readonly user?: string;
  readonly namespace?: string;
}

export function fromKubeconfig(file: string, contextName?: string): KubeTarget {
  const text = readOrExplain(file, 'the kubeconfig').toString('utf8');
  let doc: Record<string, unknown>;
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`kubernetes: the kubeconfig ${file} is not valid YAML: ${errorMessage(error)}`);
  }
  const base = dirname(file);
  const at = (p: string) => resolve(base, p);
  const name = contextName ?? (doc['current-context'] as string | undefined);
  if (!name)
    throw new Error(`kubernetes: the kubeconfig ${file} has no current-context; set scheduler.context`);
  const context = pick<KubeconfigContext>(doc.contexts, 'context', name, file, 'context');
  if (!context.cluster) throw new Error(`kubernetes: context "${name}" in ${file} names no cluster`);
  const cluster = pick<KubeconfigCluster>(doc.clusters, 'cluster', context.cluster, file, 'cluster');
  const user = context.user ? pick<KubeconfigUser>(doc.users, 'user', context.user, file, 'user') : {};
  if (!cluster.server) throw new Error(`kubernetes: cluster "${context.cluster}" in ${file} has no server`);
  if (!cluster.server.startsWith('https://')) {
    throw new Error(
      `kubernetes: cluster "${context.cluster}" in ${file}: only https:// servers are supported`,
    );
  }
  if (!user.token && !user.tokenFile && !user['client-certificate'] && !user['client-certificate-data']) {
    const other = user.exec ? 'exec plugins' : user['auth-provider'] ? 'auth providers' : undefined;
    throw new Error(
      `kubernetes: user "${context.user ?? ''}" in ${file} has no token or client certificate${other ? ` (${other} are not supported)` : ''}`,
    );
  }
  const ca = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64')
    : cluster['certificate-authority']
      ? readOrExplain(at(cluster['certificate-authority']), 'the certificate authority')
      : undefined;
  const cert = user['client-certificate-data']
    ? Buffer.from(user['client-certificate-data'], 'base64')
    : user['client-certificate']
      ? readOrExplain(at(user['client-certificate']), 'the client certificate')
      : undefined;
  const key = user['client-key-data']
    ? Buffer.from(user['client-key-data'], 'base64')
    : user['client-key']
      ? readOrExplain(at(user['client-key']), 'the client key')
      : undefined;
  if (cert && !key)
    throw new Error(`kubernetes: user "${context.user}" in ${file} has a certificate but no key`);
  const staticToken = user.token;
  const token = staticToken ? () => staticToken : user.tokenFile ? fileToken(at(user.tokenFile)) : undefined;
  const how = token ? 'token' : 'client certificate';
  return {
    connection: {
      server: cluster.server,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(cluster['insecure-skip-tls-verify'] === true ? { insecure: true } : {}),
      ...(token ? { token } : {}),
      describe: `${how} of user "${context.user}" from ${file}, context "${name}"`,
    },
    namespace: context.namespace || undefined,
  };
}

function pick<T>(list: unknown, field: string, name: string, file: string, what: string): T {
  const entries = Array.isArray(list) ? (list as NamedEntry<T>[]) : [];
  const found = entries.find((e) => e?.name === name);
  if (!found) throw new Error(`kubernetes: no ${what} named "${name}" in ${file}`);
  return (found[field] ?? {}) as T;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readOrExplain(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`kubernetes: cannot read ${what} ${path}: ${errorMessage(error)}`);
  }
}
