// Scheduler back-ends by `scheduler.type`. To add one: a settings schema (everything but `type`) and a factory.
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { issueLines } from '../core/issues.js';
import { canFreeze, type Scheduler } from '../core/ports.js';
import type { SchedulerContext } from '../core/registry.js';
import type { SchedulerSpec } from '../core/types.js';
import { DockerScheduler, dockerSettingsSchema } from './docker/scheduler.js';
import { EcsScheduler, ecsSettingsSchema } from './ecs.js';
import { KubernetesScheduler, kubernetesSettingsSchema } from './kubernetes.js';
import { MarathonScheduler, marathonSettingsSchema } from './marathon.js';
import { NomadScheduler, nomadSettingsSchema } from './nomad.js';
import { ProcessScheduler, processSettingsSchema } from './process/index.js';
import { runProblems } from './process/run.js';
import { SwarmScheduler, swarmSettingsSchema } from './swarm.js';

interface BackEnd<S extends z.ZodObject> {
  readonly schema: S;
  /** Its class: whether it can freeze replicas (warm pools, preempt: freeze) is read from it (canFreeze). */
  readonly scheduler: { readonly prototype: Scheduler };
  /** It places replicas on this one machine (or engine): `capacity.nodes` has no nodes to pick there. */
  readonly oneMachine?: true;
  /** What only the machine can tell about the services' `run` (a folder that is missing): problem lines. */
  readonly runProblems?: (services: SchedulerContext['services']) => string[];
  create(settings: z.infer<S>, ctx: SchedulerContext): Promise<Scheduler>;
}

/** Ties each factory's settings type to its schema. */
function backEnd<S extends z.ZodObject>(entry: BackEnd<S>): BackEnd<z.ZodObject> {
  return entry as unknown as BackEnd<z.ZodObject>;
}

const backEnds: Readonly<Record<string, BackEnd<z.ZodObject>>> = {
  process: backEnd({
    scheduler: ProcessScheduler,
    schema: processSettingsSchema,
    oneMachine: true,
    runProblems,
    create: (settings, ctx) => ProcessScheduler.create(settings, ctx),
  }),
  docker: backEnd({
    scheduler: DockerScheduler,
    schema: dockerSettingsSchema,
    oneMachine: true,
    create: (settings, ctx) => DockerScheduler.create(settings, ctx),
  }),
  swarm: backEnd({
    scheduler: SwarmScheduler,
    schema: swarmSettingsSchema,
    create: (settings, ctx) => SwarmScheduler.create(settings, ctx),
  }),
  kubernetes: backEnd({
    scheduler: KubernetesScheduler,
    schema: kubernetesSettingsSchema,
    create: (settings, ctx) => KubernetesScheduler.create(settings, ctx),
  }),
  nomad: backEnd({
    scheduler: NomadScheduler,
    schema: nomadSettingsSchema,
    create: (settings, ctx) => NomadScheduler.create(settings, ctx),
  }),
  marathon: backEnd({
    scheduler: MarathonScheduler,
    schema: marathonSettingsSchema,
    create: (settings, ctx) => MarathonScheduler.create(settings, ctx),
  }),
  ecs: backEnd({
    scheduler: EcsScheduler,
    schema: ecsSettingsSchema,
    create: (settings, ctx) => EcsScheduler.create(settings, ctx),
  }),
};

/** Each back-end's settings (everything in `scheduler:` but `type`), for the config schema. */
export const schedulerSchemas: Readonly<Record<string, z.ZodObject>> = Object.fromEntries(
  Object.entries(backEnds).map(([type, entry]) => [type, entry.schema]),
);

/** The scheduler types that can freeze replicas, for the config's check of `warm` and `preempt: freeze`. */
export const freezingSchedulers: ReadonlySet<string> = new Set(
  Object.entries(backEnds)
    .filter(([, entry]) => canFreeze(entry.scheduler.prototype))
    .map(([type]) => type),
);

/**
 * The scheduler types whose back-end reports what its machines offer (`capacity: { from: scheduler }`), read
 * from their classes (a `resources` method), each saying whether it has several nodes for `capacity.nodes`.
 */
export const resourceSchedulers: Readonly<Record<string, { readonly nodes: boolean }>> = Object.fromEntries(
  Object.entries(backEnds)
    .filter(([, entry]) => typeof entry.scheduler.prototype.resources === 'function')
    .map(([type, entry]) => [type, { nodes: entry.oneMachine !== true }]),
);

/**
 * What the back-end finds wrong with the services' `run` on this machine (for `validate`; createScheduler
 * checks it too): problem lines, empty when all is well or the type is unknown.
 */
export function schedulerRunProblems(spec: SchedulerSpec, services: SchedulerContext['services']): string[] {
  const entry = Object.hasOwn(backEnds, spec.type) ? backEnds[spec.type] : undefined;
  return entry?.runProblems?.(services) ?? [];
}

/** Validates the settings and builds the back-end; a ConfigError names every problem. */
export async function createScheduler(spec: SchedulerSpec, ctx: SchedulerContext): Promise<Scheduler> {
  const { type, ...settings } = spec;
  const entry = Object.hasOwn(backEnds, type) ? backEnds[type] : undefined;
  if (!entry) {
    throw new ConfigError([
      `scheduler.type: unknown scheduler "${type}" (known: ${Object.keys(backEnds).join(', ')})`,
    ]);
  }
  const parsed = entry.schema.safeParse(settings);
  if (!parsed.success) throw new ConfigError(problems(parsed.error));
  const missing = entry.runProblems?.(ctx.services) ?? [];
  if (missing.length > 0) throw new ConfigError(missing);
  return entry.create(parsed.data, ctx);
}

function problems(error: z.ZodError): string[] {
  return issueLines(error.issues, { prefix: ['scheduler'], unknown: () => 'unknown setting' });
}
