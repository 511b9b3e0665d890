// `microscaler validate`: checks a config file as `run` would at start-up, without starting anything.
import { dirname, resolve } from 'node:path';
import { configWarnings } from '../../config/warnings.js';
import { ConfigError } from '../../core/errors.js';
import { streamLogger } from '../../infra/logger.js';
import { systemClock } from '../../infra/system-clock.js';
import { schedulerRunProblems } from '../../schedulers/registry.js';
import { buildSources, readConfig } from '../compose.js';
import { options, requireConfig } from './args.js';
import { help } from './usage.js';

export async function validate(args: string[]): Promise<number> {
  const o = options(args, { config: { type: 'string', short: 'c' } });
  if (o.help) return help();
  const file = requireConfig(o.config);
  const config = await readConfig(file);
  // A missing run.cwd (or program) is a config problem on this machine, as `run` would say at start-up.
  const missing = schedulerRunProblems(config.scheduler, config.services);
  if (missing.length > 0) throw new ConfigError(missing);
  // Building the sources checks what only they can (a trace file exists and holds the service, ...).
  const logger = streamLogger(process.stderr, { level: 'error' });
  const sources = await buildSources(config, systemClock, logger, dirname(resolve(file)));
  await Promise.all([...sources.values()].map((s) => s.close()));
  for (const warning of configWarnings(config)) process.stderr.write(`${file}: warning: ${warning}\n`);
  const cap = config.capacity;
  process.stdout.write(
    `${file}: ok: ${config.services.length} services, capacity ${cap.replicas} replicas` +
      `${cap.cpu === undefined ? '' : `, ${cap.cpu} cpu`}${cap.memory === undefined ? '' : `, ${cap.memory} bytes`}` +
      `, scheduler ${config.scheduler.type}, instance ${config.name}\n`,
  );
  return 0;
}
