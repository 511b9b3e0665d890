// `microscaler validate`: checks a config file as `run` would at start-up, without starting anything.
import { dirname, resolve } from 'node:path';
import { configWarnings } from '../../config/warnings.js';
import { ConfigError } from '../../core/errors.js';
import type { Config } from '../../core/types.js';
import { streamLogger } from '../../infra/logger.js';
import { systemClock } from '../../infra/system-clock.js';
import { schedulerRunProblems } from '../../schedulers/registry.js';
import { openSourceCapacity } from '../capacity-source.js';
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
  const live = config.liveCapacity;
  if (live?.from === 'source') {
    await (
      await openSourceCapacity(live, { clock: systemClock, logger, baseDir: dirname(resolve(file)) })
    ).close();
  }
  for (const warning of configWarnings(config)) process.stderr.write(`${file}: warning: ${warning}\n`);
  process.stdout.write(
    `${file}: ok: ${config.services.length} services, capacity ${capacityText(config)}` +
      `, scheduler ${config.scheduler.type}, instance ${config.name}\n`,
  );
  return 0;
}

/** The capacity in a few words: its numbers, or where it is read from. */
function capacityText(config: Config): string {
  const cap = config.capacity;
  const live = config.liveCapacity;
  const budgets = (c: { cpu?: number; memory?: number }) =>
    `${c.cpu === undefined ? '' : `, ${c.cpu} cpu`}${c.memory === undefined ? '' : `, ${c.memory} bytes`}`;
  if (!live) return `${cap.replicas} replicas${budgets(cap)}`;
  if (live.from === 'source') return `read from a ${live.source.type} source${budgets(live)}`;
  const replicas =
    'fixed' in live.replicas
      ? `${live.replicas.fixed} replicas`
      : `${live.replicas.perNode} replicas per node`;
  return `from the scheduler (${replicas})`;
}
