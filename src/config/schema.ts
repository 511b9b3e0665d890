// The config file's shape, as zod schemas. Field-level rules live here; rules that relate several fields
// (min ≤ max, a source for the rule, fixed replicas within min..max) live in load.ts.
import { constants } from 'node:os';
import { z } from 'zod';
import { DEFAULT_STOP_GRACE_MS, type HaStore } from '../core/types.js';
import { capacitySchema } from './capacity.js';
import { duration, integer, memory, nonNegative, positive, sourceSchema, text } from './fields.js';
import { describe, expecting } from './problems.js';

export { capacitySchema } from './capacity.js';
export { duration, integer, MAX_DURATION_MS, memory, sourceSchema } from './fields.js';

/** `name`: safe in labels, file names and metric names. */
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
export { SERVICE_NAME } from '../core/names.js';

export const nameSchema = z.string().regex(INSTANCE_NAME, {
  error: (issue) =>
    `must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${describe(issue.input)}`,
});

/** `type` picks the back-end; its other settings are checked by the scheduler registry, not here. */
export const schedulerSchema = z.looseObject({ type: text().default('process') }).prefault({});

export const apiSchema = z.strictObject({ token: text().optional() }).prefault({});

const envName = z
  .string()
  .regex(/^[^=\0]+$/, { error: 'environment variable names must not be empty or contain "="' });

/** The process back-end's replica logs (src/schedulers/process/replica-logs.ts); defaults as docs/config.md says. */
export const logsSchema = z.strictObject({
  maxSize: memory().default(10 * 2 ** 20),
  keep: integer(0)
    .max(100, { error: expecting('an integer from 0 to 100') })
    .default(2),
  retention: duration().default(10 * 60_000),
  keepStopped: integer(0).default(10),
});

export const runSchema = z.strictObject({
  command: z
    .array(z.string())
    .min(1)
    .refine((command) => command[0] !== '', { error: 'the program name must not be empty', path: [0] })
    .optional(),
  env: z.record(envName, z.string()).optional(),
  cwd: text().optional(),
  image: text().optional(),
  workload: text().optional(),
  cpu: positive().optional(),
  memory: memory().optional(),
  stopGrace: duration().default(DEFAULT_STOP_GRACE_MS),
  /** When the image is pulled: at start-up always, only when it is not present, or never. */
  pull: z.enum(['always', 'missing', 'never']).default('missing'),
  /** Left out: the defaults (the process back-end applies them). */
  logs: logsSchema.optional(),
});

// `preempt:` and `warm:` in their long forms, with a freeze notice (issue 13, item 9): before a replica is
// frozen it is told (a signal, or an HTTP POST) and given `grace` to let go of its work, e.g. a queue
// consumer requeues the messages it holds, which a frozen process could not do for minutes.
/** A freeze notice's default wait when `notify` is given without `grace`. */
export const DEFAULT_NOTICE_GRACE_MS = 500;
/** Longest grace: a freeze is meant to free capacity in seconds, not hold it. */
const MAX_NOTICE_GRACE_MS = 60_000;
/** Signals a notice may not use: they would kill, stop or continue the replica instead of telling it. */
const RESERVED = new Set(['SIGKILL', 'SIGSTOP', 'SIGCONT']);

const notify = z.string().refine(
  (value) => {
    if (/^https?:\/\/./.test(value)) return URL.canParse(value.replaceAll(/\{(service|replica)\}/g, 'x'));
    return Object.hasOwn(constants.signals, value) && !RESERVED.has(value);
  },
  {
    error: (issue) =>
      `must be a signal name like SIGUSR1 (not SIGKILL, SIGSTOP or SIGCONT) or an http:// or https:// URL, got ${describe(issue.input)}`,
  },
);

const grace = duration(0).refine((ms) => ms <= MAX_NOTICE_GRACE_MS, {
  error: (issue) => `must be at most 60s, got ${String(issue.input)}ms`,
});

const noticeFields = { notify: notify.optional(), grace: grace.optional() };

/** `grace` means nothing without someone to tell. */
function graceNeedsNotify(value: { notify?: string; grace?: number }, ctx: z.RefinementCtx): void {
  if (value.grace !== undefined && value.notify === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs notify (grace is how long a notified replica gets)',
      path: ['grace'],
    });
  }
}

/** `stop`, `freeze`, or `{ freeze: true, notify: SIGUSR1 | http://..., grace: 500ms }`. */
export const preemptSchema = z
  .preprocess(
    (input) => (input === 'stop' ? { freeze: false } : input === 'freeze' ? { freeze: true } : input),
    z
      .strictObject(
        {
          freeze: z.boolean({ error: expecting('true or false') }),
          ...noticeFields,
        },
        {
          error: (issue) =>
            issue.code === 'invalid_type'
              ? expecting('stop, freeze or a map like { freeze: true, notify: SIGUSR1, grace: 500ms }')(issue)
              : undefined,
        },
      )
      .superRefine((value, ctx) => {
        graceNeedsNotify(value, ctx);
        if (!value.freeze && value.notify !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: 'needs freeze: true (only a freeze is announced)',
            path: ['notify'],
          });
        }
      }),
  )
  .prefault('stop');

/** `3`, or `{ replicas: 3, notify: SIGUSR1 | http://..., grace: 500ms }`. */
const warmLong = z
  .strictObject(
    { replicas: integer(0), ...noticeFields },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? expecting('an integer ≥ 0 or a map like { replicas: 3, notify: SIGUSR1, grace: 500ms }')(issue)
          : undefined,
    },
  )
  .superRefine(graceNeedsNotify);
const warmShort = integer(0);

export const warmSchema = z
  .unknown()
  .transform((input, ctx): z.output<typeof warmLong> => {
    // A number keeps the short form's own messages; anything else is the long form.
    const parsed = typeof input === 'number' ? warmShort.safeParse(input) : warmLong.safeParse(input);
    if (parsed.success) return typeof parsed.data === 'number' ? { replicas: parsed.data } : parsed.data;
    for (const issue of parsed.error.issues) ctx.issues.push(issue as z.core.$ZodRawIssue);
    return z.NEVER;
  })
  .prefault(0);

export const ruleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('target'), perReplica: positive(), activation: nonNegative().default(0) }),
  z.strictObject({
    type: z.literal('queue'),
    perReplicaRate: positive(),
    drainSeconds: positive().default(10),
  }),
  z.strictObject({ type: z.literal('remainder') }),
  z.strictObject({ type: z.literal('fixed'), replicas: integer(0) }),
]);

export const demandSchema = z.strictObject({ source: sourceSchema.optional(), rule: ruleSchema });

export const serviceSchema = z.strictObject({
  priority: integer(1).default(1),
  min: integer(0).default(0),
  /** Defaults to capacity.replicas (load.ts). May exceed it: capacity is shared, max only caps this service. */
  max: integer(0).optional(),
  scaleDownWindow: duration().default(2000),
  /** Frozen replicas kept ready, thawed first on scale-up (back-ends that freeze: docker, process). */
  warm: warmSchema,
  /** What happens to replicas a higher priority takes: stopped, or frozen and thawed when capacity returns. */
  preempt: preemptSchema,
  run: runSchema.prefault({}),
  demand: demandSchema,
});

/** The services map; each service is checked on its own (load.ts) so one bad service hides nothing else. */
export const servicesSchema = z
  .record(z.string(), z.unknown())
  .refine((services) => Object.keys(services).length > 0, { error: 'must have at least one service' });

/** A Kubernetes object name (DNS-1123 subdomain): what a Lease may be called. */
const KUBE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HA_STORES = ['redis', 'postgres', 'kubernetes'] as const;

/** `kubernetes: true`, or where the Lease is and which credentials reach it (as the kubernetes back-end). */
const haKubernetes = z.preprocess(
  (input) => (input === true ? {} : input),
  z.strictObject(
    {
      /** Default: the service account's namespace in a cluster, else the kubeconfig context's, else "default". */
      namespace: text().optional(),
      kubeconfig: text().optional(),
      context: text().optional(),
    },
    {
      error: (issue) => (issue.code === 'invalid_type' ? expecting('true or a map')(issue) : undefined),
    },
  ),
);

/**
 * High availability: instances sharing this config elect one leader through a lease in exactly one store:
 * Redis, PostgreSQL or a Kubernetes Lease object.
 */
export const haSchema = z
  .strictObject({
    redis: z
      .string()
      .regex(/^rediss?:\/\/./, {
        error: (issue) => `must be a redis:// or rediss:// URL, got ${describe(issue.input)}`,
      })
      .optional(),
    postgres: z
      .string()
      .regex(/^postgres(ql)?:\/\/./, {
        error: (issue) => `must be a postgres:// or postgresql:// URL, got ${describe(issue.input)}`,
      })
      .optional(),
    kubernetes: haKubernetes.optional(),
    /** The lease's name in the store (for kubernetes: the Lease object's name). */
    key: text().optional(),
    /** How long the lease lasts without renewal; a follower takes over within about this long. */
    ttl: duration(300).default(3000),
  })
  .superRefine((ha, ctx) => {
    const given = HA_STORES.filter((store) => ha[store] !== undefined);
    if (given.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs one lease store: redis, postgres or kubernetes',
        input: ha,
      });
    } else if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give one lease store, not ${given.join(' and ')}`,
        input: ha,
      });
    }
    if (ha.kubernetes !== undefined && ha.key !== undefined && !KUBE_NAME.test(ha.key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['key'],
        message: `must be a Kubernetes object name (lower-case letters, digits, "-" and "."), got ${describe(ha.key)}`,
        input: ha.key,
      });
    }
  })
  .optional();

export type RawHa = NonNullable<z.output<typeof haSchema>>;

/** Where the lease lives (one type, in core, that the ha/ lease registry reads too). */
export type { HaStore };

/** The `ha` settings as loaded. */
export interface HaSettings {
  readonly store: HaStore;
  /** The lease's name: `microscaler:<name>:leader` by default (`microscaler-<name>-leader` on Kubernetes). */
  readonly key: string;
  /** Kubernetes counts a Lease in whole seconds: there the ttl is rounded up to one. */
  readonly ttlMs: number;
}

/** The loaded `ha` section of the instance called `name`, with its defaults. */
export function haSettings(ha: RawHa, name: string): HaSettings {
  if (ha.kubernetes !== undefined) {
    // Lower case, and anything but letters and digits as "-": the instance name may hold "_" or capitals.
    const safe = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    return {
      store: { type: 'kubernetes', ...ha.kubernetes },
      key: ha.key ?? `microscaler-${safe}-leader`,
      ttlMs: Math.ceil(ha.ttl / 1000) * 1000,
    };
  }
  const store: HaStore = ha.postgres
    ? { type: 'postgres', url: ha.postgres }
    : { type: 'redis', url: ha.redis ?? '' };
  return { store, key: ha.key ?? `microscaler:${name}:leader`, ttlMs: ha.ttl };
}

/** Every top-level key; the loader checks them one by one so that one bad key hides no other problem. */
export const configShape = {
  name: nameSchema.default('microscaler'),
  capacity: capacitySchema,
  interval: duration(10).default(100),
  readTimeout: duration(1).default(1000),
  scheduler: schedulerSchema,
  api: apiSchema,
  services: servicesSchema,
  ha: haSchema,
};

/** The whole file in one schema, e.g. for z.toJSONSchema(configSchema, { io: 'input' }); cross-field rules are in validate.ts. */
export const configSchema = z.strictObject({ ...configShape, services: z.record(z.string(), serviceSchema) });

export type RawService = z.output<typeof serviceSchema>;
export type RawConfig = z.output<typeof configSchema>;
export type RawRule = z.output<typeof ruleSchema>;
