// `capacity:` in its three forms: fixed (`{replicas, cpu, memory}`), read from the back-end's machines
// (`{from: scheduler, ...}`) or a source's value (`{source: {...}}`); the schema, and what each stands for.
import { z } from 'zod';
import type { AutoscaleSpec, Capacity, LiveCapacity } from '../core/types.js';
import { duration, integer, memory, nonNegative, positive, sourceSchema } from './fields.js';
import { errorMap } from './problems.js';

/** How often a live capacity is read, unless `every:` says: a cluster's node list is not read every tick. */
export const DEFAULT_CAPACITY_EVERY_MS = 1000;

/** How long readings must say a drop to less than half before it is taken, unless `confirm:` says. */
export const DEFAULT_CONFIRM_MS = 30_000;

const fixedForm = z.strictObject({
  replicas: integer(1),
  cpu: positive().optional(),
  memory: memory().optional(),
});

/** Pressure windows and the target (docs/capacity.md); the target's settings are checked by its registry. */
const autoscaleSchema = z.strictObject({
  target: z.looseObject({ type: z.string().min(1) }),
  priorities: integer(1).default(1),
  scaleOutAfter: duration().default(30_000),
  scaleInAfter: duration().default(600_000),
  cooldown: duration().default(300_000),
  maxStep: integer(1).default(1),
  node: z.strictObject({ cpu: positive(), memory: memory(), replicas: integer(1).optional() }).optional(),
});

const schedulerForm = z
  .strictObject({
    from: z.literal('scheduler'),
    replicas: integer(1).optional(),
    perNode: integer(1).optional(),
    reserve: z.strictObject({ cpu: nonNegative().optional(), memory: memory(true).optional() }).optional(),
    nodes: z.record(z.string().min(1), z.string()).optional(),
    confirm: duration().default(DEFAULT_CONFIRM_MS),
    every: duration().default(DEFAULT_CAPACITY_EVERY_MS),
    autoscale: autoscaleSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.replicas === undefined) !== (c.perNode === undefined)) return;
    ctx.addIssue({
      code: 'custom',
      input: c,
      message:
        c.replicas === undefined
          ? 'needs replicas (a count) or perNode (replicas = perNode × the nodes counted)'
          : 'give replicas or perNode, not both',
    });
  });

const sourceForm = z.strictObject({
  source: sourceSchema,
  confirm: duration().default(DEFAULT_CONFIRM_MS),
  every: duration().default(DEFAULT_CAPACITY_EVERY_MS),
  cpu: positive().optional(),
  memory: memory().optional(),
  autoscale: autoscaleSchema.optional(),
});

export type RawCapacity =
  | z.output<typeof fixedForm>
  | z.output<typeof schedulerForm>
  | z.output<typeof sourceForm>;

/** Keys that belong to another form, with what to write instead. */
const MISPLACED: Readonly<Record<'scheduler' | 'source', Readonly<Record<string, string>>>> = {
  scheduler: {
    cpu: 'comes from the machines with from: scheduler (keep some back with reserve.cpu)',
    memory: 'comes from the machines with from: scheduler (keep some back with reserve.memory)',
  },
  source: {
    replicas: "is the source's value with source: (remove it)",
    perNode: 'needs from: scheduler (a source gives the replica count itself)',
    reserve: 'needs from: scheduler',
    nodes: 'needs from: scheduler',
  },
};

function isMap(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/** The form is picked by its key (`from` or `source`), so each form's problems are its own. */
export const capacitySchema = z.unknown().transform((input, ctx): RawCapacity => {
  const fail = (path: PropertyKey[], message: string) =>
    ctx.issues.push({ code: 'custom', path, message, input });
  let schema: z.ZodType<RawCapacity> = fixedForm;
  let fields = input;
  if (
    isMap(input) &&
    Object.hasOwn(input, 'autoscale') &&
    !Object.hasOwn(input, 'from') &&
    !Object.hasOwn(input, 'source')
  ) {
    fail(
      ['autoscale'],
      'needs a live capacity (from: scheduler, or source): a fixed capacity would never use the machines it asks for',
    );
    const { autoscale: _, ...rest } = input;
    fields = rest;
  }
  if (isMap(input) && (Object.hasOwn(input, 'from') || Object.hasOwn(input, 'source'))) {
    if (Object.hasOwn(input, 'from') && Object.hasOwn(input, 'source')) {
      fail([], 'give from: scheduler or source, not both');
      return z.NEVER;
    }
    const form = Object.hasOwn(input, 'from') ? 'scheduler' : 'source';
    schema = form === 'scheduler' ? schedulerForm : sourceForm;
    const rest: Record<string, unknown> = { ...input };
    for (const [key, message] of Object.entries(MISPLACED[form])) {
      if (!Object.hasOwn(rest, key)) continue;
      fail([key], message);
      delete rest[key];
    }
    fields = rest;
  }
  const parsed = schema.safeParse(fields, { error: errorMap });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.issues.push(issue as z.core.$ZodRawIssue);
    return z.NEVER;
  }
  return parsed.data;
});

/** What a `capacity:` setting stands for. */
export interface CapacityForm {
  /** The fixed capacity, or, when live, the least that can be in force once read (core Config.capacity). */
  readonly capacity: Capacity;
  readonly live?: LiveCapacity;
  /**
   * What a service's `max` defaults to: the replicas when they are fixed; Infinity ("as much as capacity
   * allows") when they are read live (perNode, or a source), since any count would be a guess.
   */
  readonly defaultMax: number;
}

function autoscaleSpec(raw: z.output<typeof autoscaleSchema> | undefined): { autoscale?: AutoscaleSpec } {
  if (!raw) return {};
  const { target, priorities, scaleOutAfter, scaleInAfter, cooldown, maxStep, node } = raw;
  const autoscale: AutoscaleSpec = {
    target,
    upToPriority: priorities,
    scaleOutAfterMs: scaleOutAfter,
    scaleInAfterMs: scaleInAfter,
    cooldownMs: cooldown,
    maxStep,
    ...(node
      ? {
          node: { cpu: node.cpu, memory: node.memory, ...(node.replicas ? { replicas: node.replicas } : {}) },
        }
      : {}),
  };
  return { autoscale };
}

export function capacityForm(raw: RawCapacity): CapacityForm {
  if ('from' in raw) {
    const { replicas, perNode, reserve, nodes, confirm, every } = raw;
    const count = replicas !== undefined ? { fixed: replicas } : { perNode: perNode ?? 1 };
    return {
      capacity: { replicas: replicas ?? perNode ?? 1 },
      live: {
        from: 'scheduler',
        replicas: count,
        reserve: { cpu: reserve?.cpu ?? 0, memory: reserve?.memory ?? 0 },
        ...(nodes && Object.keys(nodes).length > 0 ? { nodes } : {}),
        confirmMs: confirm,
        everyMs: every,
        ...autoscaleSpec(raw.autoscale),
      },
      defaultMax: replicas ?? Number.POSITIVE_INFINITY,
    };
  }
  if ('source' in raw) {
    const { source, confirm, every, cpu, memory } = raw;
    const budgets = { ...(cpu !== undefined ? { cpu } : {}), ...(memory !== undefined ? { memory } : {}) };
    return {
      capacity: { replicas: 1, ...budgets },
      live: {
        from: 'source',
        source,
        ...budgets,
        confirmMs: confirm,
        everyMs: every,
        ...autoscaleSpec(raw.autoscale),
      },
      defaultMax: Number.POSITIVE_INFINITY,
    };
  }
  return { capacity: raw, defaultMax: raw.replicas };
}

/** Whether the replica count is fixed (the fixed form, or `from: scheduler` with `replicas:`). */
export function fixedReplicas(live: LiveCapacity | undefined): boolean {
  return live === undefined || (live.from === 'scheduler' && 'fixed' in live.replicas);
}
