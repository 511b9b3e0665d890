// What marks a container or Swarm service as microscaler's: both labels, with this instance's name.
import { ConfigError } from '../core/errors.js';
import type { SchedulerContext } from '../core/registry.js';

export const LABEL_INSTANCE = 'microscaler.instance';
export const LABEL_SERVICE = 'microscaler.service';

/** Every service must name an image (except those adopted as they are); each problem as a config path. */
export function requireImages(
  ctx: SchedulerContext,
  back: string,
  adopted: ReadonlySet<string> = new Set(),
): void {
  const problems = ctx.services
    .filter((s) => !s.run.image && !adopted.has(s.name))
    .map((s) => `services.${s.name}.run.image: required by the ${back} scheduler`);
  if (problems.length > 0) throw new ConfigError(problems);
}
