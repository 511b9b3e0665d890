// Validates parsed config data: each top-level key on its own, each service, cross-field rules, registry settings.

import type { z } from 'zod';
import { issueLines } from '../core/issues.js';
import { capacityForm, type RawCapacity } from './capacity.js';
import { configStyle, describe, errorMap, joinPath, type Path, unknownKey } from './problems.js';
import {
  configShape,
  DEFAULT_NOTICE_GRACE_MS,
  type RawService,
  SERVICE_NAME,
  serviceSchema,
} from './schema.js';

/** Settings schemas by `type`, as the source and scheduler registries export them. */
export type SettingsSchemas = Readonly<Record<string, z.ZodType>>;

export interface ValidateOptions {
  /** When given, each service's source settings are checked by the schema for their type. */
  readonly sourceSchemas?: SettingsSchemas;
  /** The autoscale targets' settings (src/autoscale/registry.ts), for `capacity.autoscale.target`. */
  readonly autoscaleSchemas?: SettingsSchemas;
  /** When given, the scheduler settings are checked by the schema for their type. */
  readonly schedulerSchemas?: SettingsSchemas;
  /**
   * When given, the scheduler types that can freeze replicas: `warm` and `preempt: freeze` are refused for
   * the others.
   */
  readonly freezingSchedulers?: ReadonlySet<string>;
  /**
   * When given, the scheduler types whose back-end reports its machines (`capacity: { from: scheduler }`),
   * each saying whether it counts several nodes (which `capacity.nodes` picks) or one machine.
   */
  readonly resourceSchedulers?: Readonly<Record<string, { readonly nodes: boolean }>>;
  /** The instance name when the file has no `name:`; "microscaler" by default (built-in configs). */
  readonly defaultName?: string;
}

type Out<K extends keyof typeof configShape> = z.output<(typeof configShape)[K]>;

/** Each top-level setting as its schema outputs it; the services in file order. */
export interface ValidConfig {
  readonly name: Out<'name'>;
  readonly capacity: Out<'capacity'>;
  readonly intervalMs: Out<'interval'>;
  readonly readTimeoutMs: Out<'readTimeout'>;
  readonly scheduler: Out<'scheduler'>;
  readonly api: Out<'api'>;
  readonly ha: Out<'ha'> | undefined;
  readonly services: ReadonlyArray<readonly [string, RawService]>;
}

const EXTENSION_PREFIX = 'x-';

/**
 * The document's settings checked key by key (and across keys), every problem pushed onto `problems`;
 * undefined when there is any.
 */
export function validate(
  doc: unknown,
  options: ValidateOptions,
  problems: string[],
): ValidConfig | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(`config: must be a map of settings, got ${describe(doc)}`);
    return undefined;
  }
  const fields = doc as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    // `x-` keys are the user's own (as in Compose files): a place for anchors that `<<` merges elsewhere.
    if (!Object.hasOwn(configShape, key) && !key.startsWith(EXTENSION_PREFIX))
      problems.push(unknownKey([key]));
  }

  // Each key on its own, so a mistake in one still lets the others (and cross-field rules) be checked.
  const check = <T extends z.ZodType>(path: Path, schema: T, value: unknown): z.output<T> | undefined => {
    const result = schema.safeParse(value, { error: errorMap });
    if (result.success) return result.data;
    problems.push(...issueLines(result.error.issues, configStyle(path)));
    return undefined;
  };
  const name = check(
    ['name'],
    configShape.name,
    fields.name === undefined ? options.defaultName : fields.name,
  );
  const capacity = check(['capacity'], configShape.capacity, fields.capacity);
  const intervalMs = check(['interval'], configShape.interval, fields.interval);
  const readTimeoutMs = check(['readTimeout'], configShape.readTimeout, fields.readTimeout);
  const scheduler = check(['scheduler'], configShape.scheduler, fields.scheduler);
  const api = check(['api'], configShape.api, fields.api);
  const ha = check(['ha'], configShape.ha, fields.ha);
  // The input's own keys, not zod's copy: that one would drop a service named `__proto__` without a word.
  const rawServices = check(['services'], configShape.services, fields.services)
    ? (fields.services as Record<string, unknown>)
    : {};

  if (scheduler && options.schedulerSchemas) {
    checkSettings(['scheduler'], scheduler, options.schedulerSchemas, check, problems);
  }
  if (capacity) problems.push(...capacityProblems(capacity, scheduler?.type, options, check));
  const defaultMax = capacity ? capacityForm(capacity).defaultMax : undefined;

  const services: Array<[string, RawService]> = [];
  for (const [serviceName, raw] of Object.entries(rawServices)) {
    const path = ['services', serviceName];
    if (!SERVICE_NAME.test(serviceName)) {
      problems.push(
        `${joinPath(path)}: service names must be 1-63 lower-case letters, digits or "-", starting with a letter or digit`,
      );
    }
    const service = check(path, serviceSchema, raw);
    if (!service) continue;
    problems.push(...crossCheck(path, service, defaultMax), ...noticeProblems(path, service));
    if (scheduler && options.freezingSchedulers && !options.freezingSchedulers.has(scheduler.type)) {
      const can = [...options.freezingSchedulers].join(' and ');
      const cannot = `the ${scheduler.type} back-end cannot freeze replicas (only ${can} can)`;
      if (service.warm.replicas > 0) problems.push(`${joinPath([...path, 'warm'])}: ${cannot}`);
      if (service.preempt.freeze) problems.push(`${joinPath([...path, 'preempt'])}: ${cannot}`);
    }
    if (scheduler && scheduler.type !== 'process' && service.run.logs) {
      // Silently ignored it would look like a cap that holds: other back-ends' logs are the engine's.
      problems.push(
        `${joinPath([...path, 'run', 'logs'])}: only the process back-end writes replica logs (this config uses ${scheduler.type}; set log limits there)`,
      );
    }
    if (service.demand.source && options.sourceSchemas) {
      checkSettings(
        [...path, 'demand', 'source'],
        service.demand.source,
        options.sourceSchemas,
        check,
        problems,
      );
    }
    services.push([serviceName, service]);
  }

  if (problems.length > 0) return undefined;
  if (!name || !capacity || intervalMs === undefined || readTimeoutMs === undefined || !scheduler || !api) {
    return undefined;
  }
  return { name, capacity, intervalMs, readTimeoutMs, scheduler, api, ha, services };
}
/**
 * Rules that relate several fields of one service, each reported on its own line.
 * Not rules: max may exceed capacity.replicas (capacity is shared; max only caps this service), and run.cpu
 * and run.memory stay optional when capacity counts cpu or memory, as in DESIGN.md's own example (`batch`):
 * a service without them reserves 0, which the planner does not count against that budget.
 */
function crossCheck(path: Path, service: RawService, defaultMax: number | undefined): string[] {
  const problems: string[] = [];
  const at = (...rest: string[]) => joinPath([...path, ...rest]);
  const { min, demand } = service;
  const given = service.max ?? defaultMax;
  // Infinity: capacity is read live, and max is as much as capacity allows.
  const max = given !== undefined && Number.isFinite(given) ? given : undefined;
  const ordered = max === undefined || min <= max;
  if (!ordered) {
    problems.push(
      service.max === undefined
        ? `${at('min')}: must be ≤ max, which defaults to capacity.replicas (${max}), got ${min}`
        : `${at('min')}: must be ≤ max (${max}), got ${min}`,
    );
  }
  const rule = demand.rule;
  if ((rule.type === 'target' || rule.type === 'queue') && !demand.source) {
    problems.push(`${at('demand', 'source')}: required for rule type ${rule.type}`);
  }
  if ((rule.type === 'remainder' || rule.type === 'fixed') && demand.source) {
    problems.push(`${at('demand', 'source')}: not used by rule type ${rule.type}; remove it`);
  }
  if (
    rule.type === 'fixed' &&
    ordered &&
    (rule.replicas < min || (max !== undefined && rule.replicas > max))
  ) {
    problems.push(
      `${at('demand', 'rule', 'replicas')}: must be within min and max (${min}..${max ?? '∞'}), got ${rule.replicas}`,
    );
  }
  return problems;
}

/**
 * What the capacity's live form asks of the back-end and the source registry: a back-end that reports its
 * machines, node labels only where there are several nodes, a source whose settings are right.
 */
function capacityProblems(
  capacity: RawCapacity,
  schedulerType: string | undefined,
  options: ValidateOptions,
  check: (path: Path, schema: z.ZodType, value: unknown) => unknown,
): string[] {
  const problems: string[] = [];
  const known = options.resourceSchedulers;
  if ('from' in capacity && known && schedulerType !== undefined) {
    const backEnd = Object.hasOwn(known, schedulerType) ? known[schedulerType] : undefined;
    if (!backEnd) {
      const can = Object.keys(known).sort().join(', ');
      problems.push(
        `capacity.from: the ${schedulerType} back-end cannot report what its machines offer (only ${can} can); give capacity as replicas, or from a source`,
      );
    } else if (!backEnd.nodes && capacity.nodes !== undefined) {
      const many = Object.keys(known)
        .filter((t) => known[t]?.nodes)
        .sort()
        .join(', ');
      problems.push(
        `capacity.nodes: the ${schedulerType} back-end runs on one machine, so there are no nodes to pick (nodes picks them on ${many})`,
      );
    }
  }
  const autoscale = 'autoscale' in capacity ? capacity.autoscale : undefined;
  if (autoscale && options.autoscaleSchemas) {
    checkSettings(
      ['capacity', 'autoscale', 'target'],
      autoscale.target,
      options.autoscaleSchemas,
      check,
      problems,
    );
  }
  if ('source' in capacity) {
    if (capacity.source.type === 'push') {
      problems.push(
        'capacity.source.type: push cannot give capacity (values are pushed to a service); use a source microscaler reads, such as http, redis-list or prometheus',
      );
    } else if (options.sourceSchemas) {
      checkSettings(['capacity', 'source'], capacity.source, options.sourceSchemas, check, problems);
    }
  }
  return problems;
}

/** Checks a source's or scheduler's settings (all but `type`) with the registry's schema for its type. */
function checkSettings(
  path: Path,
  spec: { readonly type: string; readonly [setting: string]: unknown },
  schemas: SettingsSchemas,
  check: (path: Path, schema: z.ZodType, value: unknown) => unknown,
  problems: string[],
): void {
  const { type, ...settings } = spec;
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    problems.push(`${joinPath([...path, 'type'])}: must be one of ${Object.keys(schemas).sort().join(', ')}`);
    return;
  }
  check(path, schema, settings);
}

function noticeProblems(path: Path, service: RawService): string[] {
  const { preempt, warm } = service;
  if (preempt.notify === undefined || warm.notify === undefined) return [];
  const graceOf = (form: { grace?: number }) => form.grace ?? DEFAULT_NOTICE_GRACE_MS;
  if (preempt.notify === warm.notify && graceOf(preempt) === graceOf(warm)) return [];
  return [
    `${joinPath([...path, 'warm', 'notify'])}: differs from preempt's notify or grace; a service has one freeze notice (give it once)`,
  ];
}
