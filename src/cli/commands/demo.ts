// `microscaler demo`: the built-in demo (../demo.ts) on real replicas, in a private state folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamLogger } from '../../infra/logger.js';
import { systemClock } from '../../infra/system-clock.js';
import { startInstance } from '../compose.js';
import { DEMO_IMAGE, demoConfig, demoImageProblem } from '../demo.js';
import { StopSignals, tolerateClosedOutput } from '../signals.js';
import { UsageError } from '../usage-error.js';
import { durationArg, logLevel, options } from './args.js';
import { help } from './usage.js';
import { watchInstance } from './watch.js';

export async function demo(args: string[]): Promise<number> {
  const o = options(args, {
    scheduler: { type: 'string' },
    image: { type: 'string' },
    listen: { type: 'string' },
    duration: { type: 'string' },
    seed: { type: 'string' },
  });
  if (o.help) return help();
  const scheduler = (o.scheduler as string | undefined) ?? 'process';
  if (scheduler !== 'process' && scheduler !== 'docker') {
    throw new UsageError(`--scheduler: "${scheduler}" is not available for the demo (process or docker)`);
  }
  if (o.image !== undefined && scheduler !== 'docker')
    throw new UsageError('--image: only with --scheduler docker');
  const image = (o.image as string | undefined) ?? DEMO_IMAGE;
  const durationMs = durationArg('--duration', o.duration);
  const seed = o.seed === undefined ? Date.now() % 100_000 : Number(o.seed);
  if (!Number.isInteger(seed)) throw new UsageError('--seed: must be an integer');
  if (scheduler === 'docker') {
    const problem = await demoImageProblem(image);
    if (problem) {
      process.stderr.write(`microscaler demo: ${problem}\n`);
      return 1;
    }
  }
  // From here on a signal (the terminal closing included) stops the demo in order.
  const signals = new StopSignals();
  tolerateClosedOutput();
  // A private state folder: the demo never adopts (or touches) replicas of a `run` instance.
  const stateDir = mkdtempSync(join(tmpdir(), 'microscaler-demo-'));
  // Removed on any exit, an impatient third Ctrl-C's included.
  const removeStateDir = () => rmSync(stateDir, { recursive: true, force: true });
  process.once('exit', removeStateDir);
  try {
    const config = demoConfig({ scheduler, stateDir, seed, image });
    const logger = streamLogger(process.stderr, { level: logLevel(o['log-level']) });
    const instance = await startInstance({
      config,
      clock: systemClock,
      logger,
      baseDir: process.cwd(),
      listen: (o.listen as string | undefined) ?? '127.0.0.1:8080',
      // the dashboard's slider (or POST /api/services/web/demand) moves web's demand by hand for a while
      overridable: ['web'],
    });
    const what = scheduler === 'docker' ? `containers of ${image}` : 'processes';
    process.stdout.write(
      `demo: web (priority 1, random demand, seed ${seed}) and batch (priority 2) share 20 replicas (${what})\n`,
    );
    await watchInstance(instance, signals, 'microscaler demo', true, durationMs);
  } finally {
    signals.dispose();
    removeStateDir();
  }
  return 0;
}
