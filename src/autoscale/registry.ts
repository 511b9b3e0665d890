// The autoscale targets by `type` (`capacity.autoscale.target`): each one's settings schema, for the config
// check, and the factory the composition root calls; like src/sources/registry.ts.
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { type Issue, type IssueStyle, issueLines } from '../core/issues.js';
import type { AutoscaleTarget, Clock, Logger } from '../core/ports.js';
import type { KubeConnection } from '../infra/kube-client.js';
import { AwsAsgTarget, awsAsgSettingsSchema } from './aws-asg.js';
import { createHeadroomTarget, headroomSettingsSchema } from './kubernetes-headroom.js';
import { WebhookTarget, webhookSettingsSchema } from './webhook.js';

/** What the composition root hands to autoscale target factories. */
export interface AutoscaleContext {
  readonly clock: Clock;
  readonly logger: Logger;
  /** This microscaler instance's name. */
  readonly instance: string;
  /**
   * Where the Kubernetes API is and how to authenticate (the composition root passes the schedulers'
   * resolveKubeTarget); kubernetes-headroom needs it.
   */
  readonly kube?: (options: { kubeconfig?: string; context?: string }) => Promise<{
    readonly connection: KubeConnection;
    readonly namespace: string | undefined;
  }>;
}

/** An autoscale target's spec as the config holds it: its type and its settings. */
export interface AutoscaleSpec {
  readonly type: string;
  readonly [setting: string]: unknown;
}

interface Kind {
  /** The settings without `type`. */
  readonly schema: z.ZodObject;
  readonly create: (spec: unknown, ctx: AutoscaleContext) => Promise<AutoscaleTarget>;
}

/** Ties a target's schema (with its `type` literal) to the factory that takes its output. */
function kind<S extends z.ZodObject>(
  schema: S,
  create: (settings: z.output<S>, ctx: AutoscaleContext) => AutoscaleTarget | Promise<AutoscaleTarget>,
): Kind {
  return {
    schema: schema.omit({ type: true } as never),
    create: async (spec, ctx) => create(schema.parse(spec), ctx),
  };
}

// One entry per target type; add new ones here.
const KINDS: Record<string, Kind> = {
  webhook: kind(
    webhookSettingsSchema,
    (s, ctx) => new WebhookTarget(s, { now: () => ctx.clock.wall?.() ?? Date.now() }),
  ),
  'aws-asg': kind(awsAsgSettingsSchema, (s, ctx) => AwsAsgTarget.create(s, ctx.logger)),
  'kubernetes-headroom': kind(headroomSettingsSchema, (s, ctx) => createHeadroomTarget(s, ctx)),
};

/** Each target type's settings (everything but `type`), as strict objects; the config check uses them. */
export const autoscaleSchemas: Readonly<Record<string, z.ZodObject>> = Object.fromEntries(
  Object.entries(KINDS).map(([type, k]) => [type, k.schema]),
);

/** Problem lines for a target spec (`capacity.autoscale.target.<field>: problem`); none when it is valid. */
export function autoscaleProblems(spec: AutoscaleSpec): string[] {
  const { type, ...settings } = spec;
  const k = Object.hasOwn(KINDS, type) ? KINDS[type] : undefined;
  if (!k) {
    return [
      `${PREFIX.join('.')}.type: unknown autoscale target "${type}" (known: ${Object.keys(KINDS).join(', ')})`,
    ];
  }
  const parsed = k.schema.safeParse(settings);
  return parsed.success ? [] : issueLines(parsed.error.issues, targetStyle(k.schema));
}

/** Builds a target from its spec; a ConfigError (problem lines as autoscaleProblems) when it is not valid. */
export async function createAutoscaleTarget(
  spec: AutoscaleSpec,
  ctx: AutoscaleContext,
): Promise<AutoscaleTarget> {
  const problems = autoscaleProblems(spec);
  if (problems.length > 0) throw new ConfigError(problems);
  const k = KINDS[spec.type] as Kind;
  return k.create(spec, ctx);
}

const PREFIX = ['capacity', 'autoscale', 'target'];

function targetStyle(schema: z.ZodObject): IssueStyle {
  const known = ` (known: ${Object.keys(schema.shape).join(', ')})`;
  return { prefix: PREFIX, unknown: () => `unknown setting${known}`, message: targetMessage };
}

function targetMessage(issue: Issue): string {
  const message = issue.message.replace(/^Invalid input: /, '');
  return issue.code === 'invalid_type' && /received undefined$/.test(message) ? 'required' : message;
}
