// The composition root: the one place that knows every adapter and wires them into a running instance.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NotPushableError, UnknownServiceError } from '../api/errors.js';
import { type ApiServer, startApiServer } from '../api/server.js';
import { autoscaleSchemas, createAutoscaleTarget } from '../autoscale/registry.js';
import { DEFAULT_CONFIRM_MS } from '../config/capacity.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { Controller, Leadership } from '../controller/index.js';
import { ConfigError } from '../core/errors.js';
import type { Clock, Logger, Scheduler, Source } from '../core/ports.js';
import type { Config } from '../core/types.js';
import { awaitClaim, CLAIM_TTL_MS, ClaimedError } from '../ha/claim.js';
import { createLease, type LeaseContext } from '../ha/leases.js';
import {
  createScheduler,
  freezingSchedulers,
  resourceSchedulers,
  schedulerSchemas,
} from '../schedulers/registry.js';
import { isPushSource } from '../sources/push.js';
import { createSource, sourceSchemas } from '../sources/registry.js';
import { buildCapacitySource } from './capacity-source.js';
import { createClaim, unclaimedWarning } from './claim.js';
import { Closers } from './closers.js';
import { DEFAULT_OVERRIDE_MS, OverridableSource } from './override.js';

export function readConfig(path: string): Promise<LoadedConfig> {
  return loadConfig(path, process.env, {
    sourceSchemas,
    schedulerSchemas,
    freezingSchedulers,
    resourceSchedulers,
    autoscaleSchemas,
  });
}

/** Builds every source of the config; closes those already built if one fails. */
export async function buildSources(
  config: Config,
  clock: Clock,
  logger: Logger,
  baseDir: string,
): Promise<Map<string, Source>> {
  const sources = new Map<string, Source>();
  try {
    for (const s of config.services) {
      if (!s.source) continue;
      sources.set(s.name, await createSource(s.source, { clock, logger, service: s.name, baseDir }));
    }
  } catch (error) {
    await Promise.all([...sources.values()].map((x) => x.close()));
    // Name the service in each problem so it reads as a config path.
    if (error instanceof ConfigError) {
      const failed = config.services.find((s) => s.source && !sources.has(s.name));
      throw new ConfigError(error.problems.map((p) => (failed ? `services.${failed.name}.demand.${p}` : p)));
    }
    throw error;
  }
  return sources;
}

export interface Instance {
  readonly config: LoadedConfig;
  readonly controller: Controller;
  readonly scheduler: Scheduler;
  readonly sources: ReadonlyMap<string, Source>;
  readonly api: ApiServer | undefined;
  /**
   * With `ha` configured: the election this instance takes part in (it acts only while leading). Without
   * it, on a shared back-end: this instance's claim on its name (it acts only while holding it).
   */
  readonly leadership: Leadership | undefined;
  /** Stops the loop and the API; with drain, stops every replica first. */
  close(options: { drain: boolean }): Promise<void>;
  /** Makes a drain under way (and any later stop) skip the grace period: the user asked twice. */
  hurry(): void;
}

export interface InstanceOptions {
  readonly config: LoadedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly baseDir: string;
  /** Where the API listens; undefined for none. */
  readonly listen?: string;
  /**
   * Services whose demand can be set by hand through POST /api/services/NAME/demand (and the dashboard's
   * control) although their source is not `push`: a value set so replaces the source's for overrideMs.
   */
  readonly overridable?: readonly string[];
  /** How long a value set by hand holds; 30 s by default. */
  readonly overrideMs?: number;
  /** Keep replicas of services no longer in the config running (`run --keep-removed`); stopped by default. */
  readonly keepRemoved?: boolean;
  /** Where MICROSCALER_TOKEN is read (the API token when the config has no api.token); process.env by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The dashboard's folder; found next to this module (src/ or dist/) by default. */
  readonly dashboardDir?: string;
  /** The time to live of the instance's claim on its back-end (without `ha`); CLAIM_TTL_MS by default. */
  readonly claimTtlMs?: number;
}

/**
 * The dashboard's files: src/dashboard under tsx; from dist/cli, the package's src/dashboard (tsc copies
 * no HTML or CSS, and the page needs no build), else a dist/dashboard that a packager may have copied.
 */
export function findDashboardDir(): string | undefined {
  const candidates = ['../dashboard/', '../../src/dashboard/'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(`${dir}index.html`));
}

/** Wraps the named services' sources so that a value set by hand can stand in for them. */
function overrideSources(
  config: Config,
  sources: Map<string, Source>,
  names: readonly string[],
  clock: Clock,
  holdMs: number,
): Map<string, OverridableSource> {
  const out = new Map<string, OverridableSource>();
  const problems: string[] = [];
  for (const name of names) {
    const source = sources.get(name);
    if (!config.services.some((s) => s.name === name))
      problems.push(`overridable: no service named "${name}"`);
    else if (!source) problems.push(`overridable: service "${name}" has no demand source to override`);
    else if (!isPushSource(source)) out.set(name, new OverridableSource(source, clock, holdMs));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  for (const [name, source] of out) sources.set(name, source);
  return out;
}

/** Finds the Kubernetes API as the kubernetes back-end would: in-cluster, else the kubeconfig. */
function kubeTarget(env: Readonly<Record<string, string | undefined>>): LeaseContext['resolveKube'] {
  return async (where) => {
    const { resolveKubeTarget } = await import('../schedulers/kube-config.js');
    return resolveKubeTarget({ env, ...where });
  };
}

/** A function that runs `f` on its first call only; later calls return the first call's promise. */
function once(f: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= f();
    return done;
  };
}

/** Builds sources, scheduler, controller and API from a config, and starts the loop. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const { config, clock, logger, baseDir } = options;
  const env = options.env ?? process.env;
  // What is open so far, closed newest first if a later step fails.
  const closers = new Closers();
  const sources = await buildSources(config, clock, logger, baseDir);
  closers.push(() => Promise.all([...sources.values()].map((s) => s.close())));
  const overrides = await closers.open(() =>
    overrideSources(
      config,
      sources,
      options.overridable ?? [],
      clock,
      options.overrideMs ?? DEFAULT_OVERRIDE_MS,
    ),
  );
  const scheduler = await closers.open(() =>
    createScheduler(config.scheduler, {
      clock,
      logger,
      instance: config.name,
      services: config.services.map((s) => ({ name: s.name, run: s.run })),
      ...(config.ha ? { ha: true } : {}),
    }),
  );
  closers.push(() => scheduler.close());
  // A live capacity (issue 15): what the back-end's machines offer, or a source's value, read every tick.
  const capacitySource = await closers.open(() =>
    buildCapacitySource(config, scheduler, { clock, logger, baseDir }),
  );
  if (capacitySource) closers.push(() => capacitySource.close());
  // Where requests for machines go (capacity.autoscale), with the pressure windows.
  const autoscale = config.liveCapacity?.autoscale;
  const target = autoscale
    ? await closers.open(() =>
        createAutoscaleTarget(autoscale.target, {
          clock,
          logger,
          instance: config.name,
          kube: kubeTarget(env),
        }),
      )
    : undefined;
  if (target) closers.push(() => target.close());
  // High availability: every instance observes and plans; only the holder of the lease scales.
  const ha = config.ha;
  const lease = ha
    ? await closers.open(() =>
        createLease(ha.store, { key: ha.key, ttlMs: ha.ttlMs, resolveKube: kubeTarget(env) }),
      )
    : undefined;
  // Without ha, on a shared back-end: a claim on this instance's name there.
  const claimTtlMs = options.claimTtlMs ?? CLAIM_TTL_MS;
  const claim = await closers.open(() => createClaim(config, { ttlMs: claimTtlMs, env }));
  const unclaimed = unclaimedWarning(config);
  if (unclaimed) logger.log('warn', unclaimed);
  // Set once the controller exists: events of a claim lost (or back) go to its log.
  let onClaim: ((holding: boolean, holder: string | null) => void) | undefined;
  const leadership = claim
    ? new Leadership({
        lease: claim,
        ttlMs: claimTtlMs,
        clock,
        logger,
        onChange: (holding, holder) => onClaim?.(holding, holder),
      })
    : ha && lease
      ? new Leadership({ lease, ttlMs: ha.ttlMs, clock, logger })
      : undefined;
  // Stopped once: at exit before the API closes, so that a follower can take over at once.
  const stopLeadership = once(async () => leadership?.stop());
  if (leadership) closers.push(stopLeadership);
  if (claim && leadership) {
    // Before anything is touched: a second instance of this name must not act even once.
    leadership.start();
    await closers.open(async () => {
      const outcome = await awaitClaim(leadership, claim, 2 * claimTtlMs);
      if (!outcome.ok) throw new ClaimedError(config.name, outcome.holder, claim.where, outcome.failure);
    });
    logger.log('info', `holding instance "${config.name}" as ${claim.id} (${claim.where})`);
  }
  const controller = new Controller({
    name: config.name,
    capacity: config.capacity,
    ...(capacitySource
      ? {
          capacitySource,
          capacityConfirmMs: config.liveCapacity?.confirmMs ?? DEFAULT_CONFIRM_MS,
          ...(config.liveCapacity ? { capacityEveryMs: config.liveCapacity.everyMs } : {}),
        }
      : {}),
    ...(autoscale && target
      ? {
          pressure: {
            target,
            upToPriority: autoscale.upToPriority,
            scaleOutAfterMs: autoscale.scaleOutAfterMs,
            scaleInAfterMs: autoscale.scaleInAfterMs,
            cooldownMs: autoscale.cooldownMs,
            maxStep: autoscale.maxStep,
            ...(autoscale.node ? { node: autoscale.node } : {}),
          },
        }
      : {}),
    intervalMs: config.intervalMs,
    readTimeoutMs: config.readTimeoutMs,
    services: config.services,
    sources,
    scheduler,
    clock,
    logger,
    ...(leadership ? { canAct: () => leadership.isLeader() } : {}),
    ...(options.keepRemoved ? { keepRemoved: true } : {}),
  });
  if (claim) {
    const where = claim.where;
    onClaim = (holding, holder) => {
      const lost = `instance "${config.name}" is held by ${holder ?? 'another holder, or its claim could not be renewed'} (${where}): not acting`;
      logger.log(holding ? 'info' : 'warn', holding ? `holding instance "${config.name}" again` : lost);
      controller.setProblem('claim', holding ? undefined : lost, `holding instance "${config.name}" again`);
    };
  }

  // The state tells the dashboard which services take demand by hand, and how long a value set so holds.
  const snapshot = () => {
    const s = controller.snapshot();
    return {
      ...s,
      services: s.services.map((x) => {
        const source = sources.get(x.name);
        const held = overrides.get(x.name)?.current();
        return {
          ...x,
          acceptsDemand: source !== undefined && (isPushSource(source) || overrides.has(x.name)),
          ...(held ? { override: { value: held.value, until: new Date(held.until).toISOString() } } : {}),
        };
      }),
      ...(leadership && !claim ? { leader: leadership.state() } : {}),
      ...(leadership && claim ? { claim: { ...leadership.state(), where: claim.where } } : {}),
    };
  };
  const token = config.api.token || env.MICROSCALER_TOKEN || undefined;
  const dashboardDir = options.dashboardDir ?? findDashboardDir();
  if (!dashboardDir) logger.log('warn', 'dashboard files not found: GET / answers 404');

  let api: ApiServer | undefined;
  if (options.listen !== undefined) {
    const listen = options.listen;
    api = await closers.open(() =>
      startApiServer({
        listen,
        snapshot,
        controller,
        ...(dashboardDir ? { dashboardDir } : {}),
        pushDemand: (service, value) => {
          if (!config.services.some((s) => s.name === service)) throw new UnknownServiceError(service);
          const override = overrides.get(service);
          if (override) override.set(value);
          else {
            const source = sources.get(service);
            if (!source || !isPushSource(source)) {
              throw new NotPushableError(
                service,
                config.services.find((s) => s.name === service)?.source?.type,
              );
            }
            source.push(value);
          }
          // A pushed value is acted on at once, not at the end of the interval.
          controller.nudge();
        },
        logger,
        ...(token ? { token } : {}),
      }),
    );
    const server = api;
    closers.push(() => server.close());
  }
  leadership?.start();
  const loop = controller.start();

  return {
    config,
    controller,
    scheduler,
    sources,
    api,
    leadership,
    hurry() {
      scheduler.hurry?.();
    },
    async close({ drain }) {
      if (drain) {
        scheduler.beginDrain?.();
        await controller.drain();
      } else await controller.stop();
      await loop;
      // After the last scale call: releasing the lease lets a follower take over at once.
      await stopLeadership();
      await closers.close();
    },
  };
}
