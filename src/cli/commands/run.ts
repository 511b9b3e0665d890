// `microscaler run`: runs the instance a config file describes until a signal stops it.
import { dirname, resolve } from 'node:path';
import { configWarnings } from '../../config/warnings.js';
import { streamLogger } from '../../infra/logger.js';
import { systemClock } from '../../infra/system-clock.js';
import { readConfig, startInstance } from '../compose.js';
import { StopSignals, tolerateClosedOutput } from '../signals.js';
import { logLevel, options } from './args.js';
import { help } from './usage.js';
import { watchInstance } from './watch.js';

export async function run(args: string[]): Promise<number> {
  const o = options(args, {
    config: { type: 'string', short: 'c' },
    listen: { type: 'string' },
    'stop-on-exit': { type: 'boolean' },
    'keep-removed': { type: 'boolean' },
  });
  if (o.help) return help();
  const file = (o.config as string | undefined) ?? 'microscaler.yaml';
  const config = await readConfig(file);
  const logger = streamLogger(process.stderr, { level: logLevel(o['log-level']) });
  for (const warning of configWarnings(config)) logger.log('warn', `${file}: ${warning}`);
  // From here on a signal (the terminal closing included) stops the instance in order.
  const signals = new StopSignals();
  tolerateClosedOutput();
  const instance = await startInstance({
    config,
    clock: systemClock,
    logger,
    baseDir: dirname(resolve(file)),
    listen: (o.listen as string | undefined) ?? '127.0.0.1:8080',
    keepRemoved: o['keep-removed'] === true,
  });
  await watchInstance(instance, signals, `microscaler ${config.name}`, o['stop-on-exit'] === true, undefined);
  return 0;
}
