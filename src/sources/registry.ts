import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { type Issue, type IssueStyle, issueLines } from '../core/issues.js';
import type { Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceSpec } from '../core/types.js';
import { HttpSource, httpSchema } from './http.js';
import { NatsJetstreamSource, natsJetstreamSchema } from './nats-jetstream.js';
import { PostgresSource, postgresSchema } from './postgres.js';
import { PrometheusSource, prometheusSchema } from './prometheus.js';
import { PushSource, pushSchema } from './push.js';
import { RabbitmqSource, rabbitmqSchema } from './rabbitmq.js';
import { RandomSource, randomSchema } from './random.js';
import { RedisListSource, redisListSchema } from './redis-list.js';
import { RedisStreamSource, redisStreamSchema } from './redis-stream.js';
import { SqsSource, sqsSchema } from './sqs.js';
import { StaticSource, staticSchema } from './static.js';
import { TraceSource, traceSchema } from './trace.js';

interface Kind {
  readonly schema: z.ZodObject;
  readonly create: (settings: unknown, ctx: SourceContext) => Promise<Source>;
}

/** Ties a schema to the factory that takes its output, so each entry below type-checks on its own. */
function kind<S extends z.ZodObject>(
  schema: S,
  create: (settings: z.output<S>, ctx: SourceContext) => Source | Promise<Source>,
): Kind {
  return { schema, create: async (settings, ctx) => create(settings as z.output<S>, ctx) };
}

// One entry per source type; add new kinds here.
const KINDS: Record<string, Kind> = {
  random: kind(randomSchema, (s, ctx) => new RandomSource(s, ctx.clock)),
  trace: kind(traceSchema, (s, ctx) => TraceSource.create(s, ctx)),
  static: kind(staticSchema, (s, ctx) => new StaticSource(s, ctx.clock)),
  push: kind(pushSchema, (s, ctx) => new PushSource(s, ctx.clock)),
  // Sources backed by a server: built without waiting for it, so a server that is down at start makes its
  // service hold (reads fail) instead of stopping the instance; they connect and reconnect by themselves.
  'redis-list': kind(redisListSchema, (s, ctx) => new RedisListSource(s, ctx)),
  'redis-stream': kind(redisStreamSchema, (s, ctx) => new RedisStreamSource(s, ctx)),
  rabbitmq: kind(rabbitmqSchema, (s, ctx) => new RabbitmqSource(s, ctx)),
  'nats-jetstream': kind(natsJetstreamSchema, (s, ctx) => new NatsJetstreamSource(s, ctx)),
  postgres: kind(postgresSchema, (s, ctx) => new PostgresSource(s, ctx)),
  prometheus: kind(prometheusSchema, (s, ctx) => new PrometheusSource(s, ctx)),
  http: kind(httpSchema, (s, ctx) => new HttpSource(s, ctx)),
  sqs: kind(sqsSchema, (s, ctx) => SqsSource.create(s, ctx)),
};

/** Each source type's settings (everything but `type`), as strict objects; the config schema uses them. */
export const sourceSchemas: Record<string, z.ZodObject> = Object.fromEntries(
  Object.entries(KINDS).map(([type, k]) => [type, k.schema]),
);

/**
 * Builds a source from its spec. Throws a ConfigError (`source.<field>: problem` lines) for an unknown
 * type, invalid settings, or a problem found while opening it (e.g. a missing trace file).
 */
export async function createSource(spec: SourceSpec, ctx: SourceContext): Promise<Source> {
  const { type, ...settings } = spec;
  const k = Object.hasOwn(KINDS, type) ? KINDS[type] : undefined;
  if (!k) {
    throw new ConfigError([
      `source.type: unknown source "${type}" (known: ${Object.keys(KINDS).join(', ')})`,
    ]);
  }
  const parsed = k.schema.safeParse(settings);
  if (!parsed.success) throw new ConfigError(issueLines(parsed.error.issues, sourceStyle(k.schema)));
  return k.create(parsed.data, ctx);
}

/** Problem lines for invalid source settings, in words a config author understands. */
function sourceStyle(schema: z.ZodObject): IssueStyle {
  const known = ` (known: ${Object.keys(schema.shape).join(', ')})`;
  return { prefix: ['source'], unknown: () => `unknown setting${known}`, message: sourceMessage };
}

function sourceMessage(issue: Issue): string {
  const message = issue.message.replace(/^Invalid input: /, '');
  return issue.code === 'invalid_type' && /received undefined$/.test(message) ? 'required' : message;
}
