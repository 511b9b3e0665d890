// Converts validated config settings into the core types: service specs (paths resolved), sorted, HA settings.

import { isAbsolute, resolve } from 'node:path';
import { byPriorityThenName } from '../core/order.js';
import type { Config, FreezeNotice, RunSpec, ServiceSpec } from '../core/types.js';
import { capacityForm } from './capacity.js';
import { DEFAULT_NOTICE_GRACE_MS, type HaSettings, haSettings, type RawService } from './schema.js';
import type { ValidConfig } from './validate.js';

/** A Config with the settings only the loader and the composition root know (high availability). */
export type LoadedConfig = Config & { readonly ha?: HaSettings };

/** The Config of valid settings; relative paths resolve against `baseDir`. */
export function toConfig(valid: ValidConfig, baseDir: string | undefined): LoadedConfig {
  const { name, intervalMs, readTimeoutMs, scheduler, api, ha } = valid;
  const { capacity, live, defaultMax } = capacityForm(valid.capacity);
  return {
    name,
    capacity,
    ...(live ? { liveCapacity: live } : {}),
    intervalMs,
    readTimeoutMs,
    scheduler,
    services: valid.services
      .map(([serviceName, service]) =>
        toServiceSpec(serviceName, service, defaultMax, baseDir, scheduler.type === 'process'),
      )
      .sort(byPriorityThenName),
    api,
    ...(ha ? { ha: haSettings(ha, name) } : {}),
  };
}

function toServiceSpec(
  name: string,
  service: RawService,
  defaultMax: number,
  baseDir: string | undefined,
  localCommand: boolean,
): ServiceSpec {
  const { stopGrace, logs, ...run } = service.run;
  const cwd = run.cwd !== undefined && baseDir !== undefined ? resolve(baseDir, run.cwd) : run.cwd;
  const command = localCommand ? localProgram(run.command, cwd, baseDir) : run.command;
  const notice = freezeNotice(service);
  const runSpec: RunSpec = {
    ...run,
    ...(cwd !== undefined ? { cwd } : {}),
    ...(command !== undefined ? { command } : {}),
    stopGraceMs: stopGrace,
    ...(notice ? { freezeNotice: notice } : {}),
    ...(logs
      ? {
          logs: {
            maxSize: logs.maxSize,
            keep: logs.keep,
            retentionMs: logs.retention,
            keepStopped: logs.keepStopped,
          },
        }
      : {}),
  };
  return {
    name,
    priority: service.priority,
    min: service.min,
    max: service.max ?? defaultMax,
    rule: service.demand.rule,
    resources: { cpu: run.cpu ?? 0, memory: run.memory ?? 0 },
    scaleDownWindowMs: service.scaleDownWindow,
    ...(service.warm.replicas > 0 ? { warm: service.warm.replicas } : {}),
    ...(service.preempt.freeze ? { preempt: 'freeze' as const } : {}),
    run: runSpec,
    ...(service.demand.source ? { source: service.demand.source } : {}),
  };
}

/**
 * A process replica's program given as a relative path (`./w.sh`, `bin/worker`: it holds a `/`) is made
 * absolute against the folder it runs in (`run.cwd`, which is where the spawn would look), or else the
 * config's folder, never the folder microscaler was started from. A bare name (`sleep`) stays for PATH.
 * Other back-ends' commands run inside a container, where the config's folder means nothing.
 */
function localProgram(
  command: readonly string[] | undefined,
  cwd: string | undefined,
  baseDir: string | undefined,
): readonly string[] | undefined {
  const [program, ...args] = command ?? [];
  const from = cwd ?? baseDir;
  if (program === undefined || !program.includes('/') || isAbsolute(program) || from === undefined) {
    return command;
  }
  return [resolve(from, program), ...args];
}

/**
 * A service has one freeze notice, for every freeze of its replicas (preempted, or put into its pool): the
 * back-end cannot tell them apart. It may be written under `preempt:` or `warm:`, or under both alike.
 */
function freezeNotice(service: RawService): FreezeNotice | undefined {
  const given = [service.preempt, service.warm].find((form) => form.notify !== undefined);
  if (given?.notify === undefined) return undefined;
  return { notify: given.notify, graceMs: given.grace ?? DEFAULT_NOTICE_GRACE_MS };
}
