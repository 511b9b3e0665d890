// The composition root: the one place that knows every adapter and wires them into a running instance.

import { NotPushableError, UnknownServiceError } from '../api/errors.js';
import { type ApiServer, startApiServer } from '../api/server.js';
import { loadConfig } from '../config/load.js';
import { Controller } from '../controller/index.js';
import { ConfigError } from '../core/errors.js';
import type { Clock, Logger, Scheduler, Source } from '../core/ports.js';
import type { Config } from '../core/types.js';
import { createScheduler, schedulerSchemas } from '../schedulers/registry.js';
import { isPushSource } from '../sources/push.js';
import { createSource, sourceSchemas } from '../sources/registry.js';

export function readConfig(path: string): Promise<Config> {
  return loadConfig(path, process.env, { sourceSchemas, schedulerSchemas });
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
  readonly config: Config;
  readonly controller: Controller;
  readonly scheduler: Scheduler;
  readonly sources: ReadonlyMap<string, Source>;
  readonly api: ApiServer | undefined;
  /** Stops the loop and the API; with drain, stops every replica first. */
  close(options: { drain: boolean }): Promise<void>;
}

export interface InstanceOptions {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly baseDir: string;
  /** Where the API listens; undefined for none. */
  readonly listen?: string;
}

/** Builds sources, scheduler, controller and API from a config, and starts the loop. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const { config, clock, logger, baseDir } = options;
  const sources = await buildSources(config, clock, logger, baseDir);
  let scheduler: Scheduler;
  try {
    scheduler = await createScheduler(config.scheduler, {
      clock,
      logger,
      instance: config.name,
      services: config.services.map((s) => ({ name: s.name, run: s.run })),
    });
  } catch (error) {
    await Promise.all([...sources.values()].map((s) => s.close()));
    throw error;
  }
  const controller = new Controller({
    name: config.name,
    capacity: config.capacity,
    intervalMs: config.intervalMs,
    readTimeoutMs: config.readTimeoutMs,
    services: config.services,
    sources,
    scheduler,
    clock,
    logger,
  });

  let api: ApiServer | undefined;
  if (options.listen !== undefined) {
    try {
      api = await startApiServer({
        listen: options.listen,
        snapshot: () => controller.snapshot(),
        pushDemand: (service, value) => {
          if (!config.services.some((s) => s.name === service)) throw new UnknownServiceError(service);
          const source = sources.get(service);
          if (!source || !isPushSource(source)) {
            throw new NotPushableError(
              service,
              config.services.find((s) => s.name === service)?.source?.type,
            );
          }
          source.push(value);
        },
        logger,
        ...(config.api.token ? { token: config.api.token } : {}),
      });
    } catch (error) {
      await scheduler.close();
      await Promise.all([...sources.values()].map((s) => s.close()));
      throw error;
    }
  }
  const loop = controller.start();

  return {
    config,
    controller,
    scheduler,
    sources,
    api,
    async close({ drain }) {
      if (drain) await controller.drain();
      else await controller.stop();
      await loop;
      await api?.close();
      await scheduler.close();
      await Promise.all([...sources.values()].map((s) => s.close()));
    },
  };
}
