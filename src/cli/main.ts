// microscaler's command line. Exit status: 0 ok, 1 runtime failure, 2 bad config or usage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_DEMAND } from '../api/server.js';
import { configWarnings } from '../config/warnings.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { LogLevel } from '../core/ports.js';
import type { ControllerEvent, ServicePolicy, Snapshot, SourceResult } from '../core/types.js';
import { parseDuration } from '../core/units.js';
import { ClaimedError } from '../ha/claim.js';
import { streamLogger } from '../infra/logger.js';
import { systemClock } from '../infra/system-clock.js';
import { EMPTY_MEMORY, plan } from '../planner/index.js';
import { schedulerRunProblems } from '../schedulers/registry.js';
import { buildSources, type Instance, readConfig, startInstance } from './compose.js';
import { DEMO_IMAGE, demoConfig, demoImageProblem } from './demo.js';
import { eventLine, LiveView, table } from './render.js';
import { StopSignals, tolerateClosedOutput } from './signals.js';
import { simulateCommand } from './simulate.js';
import { readState } from './status.js';
import { UsageError } from './usage-error.js';

const USAGE = `microscaler: sub-second, priority-aware microscaling of replicas within a fixed capacity

Usage:
  microscaler demo [--scheduler process|docker] [--image IMAGE] [--listen ADDR] [--duration 30s] [--seed N]
  microscaler run [-c microscaler.yaml] [--listen 127.0.0.1:8080] [--stop-on-exit] [--keep-removed]
  microscaler validate -c FILE
  microscaler plan -c FILE --demand NAME=VALUE ... [--running NAME=N ...] [--json]
  microscaler status [--url http://127.0.0.1:8080] [--json]
  microscaler simulate -c FILE --trace FILE.csv [--time-scale N] [--policies ...] [--json] [--plot FILE.html]

Options:
  --log-level debug|info|warn|error   what goes to stderr (default warn; events go to stdout)
  -h, --help                          this text
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demo(rest);
    case 'run':
      return run(rest);
    case 'validate':
      return validate(rest);
    case 'plan':
      return planCommand(rest);
    case 'status':
      return status(rest);
    case 'simulate':
      return simulateCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

type Flags = Record<string, string | boolean | string[] | undefined>;
type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

function options(args: string[], spec: Spec): Flags {
  try {
    return parseArgs({
      args,
      options: { ...spec, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }).values as Flags;
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

function logLevel(value: unknown): LogLevel {
  const level = (value ?? 'warn') as string;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new UsageError(`--log-level: unknown level "${level}"`);
  return level as LogLevel;
}

/** Runs an instance until a signal (or the duration) ends it, showing what happens. */
async function watchInstance(
  instance: Instance,
  signals: StopSignals,
  title: string,
  drainOnExit: boolean,
  durationMs: number | undefined,
): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const view = tty ? new LiveView(process.stdout, title) : undefined;
  let peakUsed = 0;
  let plans = 0;
  const sample = (s: Snapshot) => {
    peakUsed = Math.max(peakUsed, s.capacity.used);
  };
  const unsubscribe = instance.controller.subscribe((e: ControllerEvent) => {
    if (e.kind === 'plan') plans++;
    if (e.kind === 'scale') return; // the plan event before it says the same
    if (view) view.event(e);
    else process.stdout.write(`${eventLine(e)}\n`);
  });
  const timer = setInterval(() => {
    const s = instance.controller.snapshot();
    sample(s);
    view?.draw(s);
  }, 200);
  if (instance.api) process.stdout.write(`${listeningLine(instance.api)}\n`);

  if (durationMs !== undefined) setTimeout(() => signals.end(), durationMs).unref();
  const signal = await signals.first;
  clearInterval(timer);
  unsubscribe();
  const last = instance.controller.snapshot();
  sample(last);
  // After a SIGHUP there is no terminal to draw on.
  if (view && signal !== 'SIGHUP') view.draw(last, true);
  process.stdout.write(drainOnExit ? 'stopping every replica...\n' : 'leaving replicas running\n');
  // A second signal while draining hurries the stop (no grace: SIGKILL); a third exits at once. The
  // caller's exit handlers still run (the demo removes its temporary folder).
  signals.onRepeat((_, n) => {
    if (n === 2 && drainOnExit) {
      process.stdout.write('stopping every replica now, without grace (once more to exit at once)\n');
      instance.hurry();
    } else process.exit(130);
  });
  await instance.close({ drain: drainOnExit });
  process.stdout.write(
    `${table(last)}\n${plans} plan changes; peak capacity used ${peakUsed}/${last.capacity.replicas}\n`,
  );
}

/** Where the API listens, as bound; for every interface also the URL that works from this machine. */
function listeningLine(api: { url: string; listening: string }): string {
  if (api.listening === api.url) return `api listening on ${api.url} (dashboard: ${api.url}/)`;
  return `api listening on ${api.listening} (every interface; from this machine: ${api.url}, dashboard: ${api.url}/)`;
}

async function demo(args: string[]): Promise<number> {
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
  const durationMs = o.duration === undefined ? undefined : parseDurationArg('--duration', o.duration);
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

async function run(args: string[]): Promise<number> {
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

async function validate(args: string[]): Promise<number> {
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

async function planCommand(args: string[]): Promise<number> {
  const o = options(args, {
    config: { type: 'string', short: 'c' },
    demand: { type: 'string', multiple: true },
    running: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (o.help) return help();
  const config = await readConfig(requireConfig(o.config));
  const names = new Set(config.services.map((s) => s.name));
  const demand = pairs('--demand', o.demand as string[] | undefined, names, false);
  for (const [name] of demand) {
    const s = config.services.find((x) => x.name === name);
    if (s && s.source === undefined) {
      throw new UsageError(
        `--demand ${name}=...: service "${name}" has no demand source (its rule is ${s.rule.type}), so a value would be ignored`,
      );
    }
  }
  const running = pairs('--running', o.running as string[] | undefined, names, true);
  const now = Date.now();
  const readings = new Map<string, SourceResult>();
  for (const [name, value] of demand) readings.set(name, { ok: true, reading: { value, at: now } });
  const observed = new Map([...running].map(([name, n]) => [name, { running: n, starting: 0, stopping: 0 }]));
  const services: ServicePolicy[] = [...config.services];
  const result = plan({ now, capacity: config.capacity, services, readings, observed }, EMPTY_MEMORY).plan;
  if (o.json) {
    process.stdout.write(`${JSON.stringify(result.services, null, 2)}\n`);
    return 0;
  }
  const snapshot: Snapshot = {
    time: new Date(now).toISOString(),
    name: config.name,
    capacity: { replicas: config.capacity.replicas, used: 0 },
    services: result.services.map((p) => {
      const s = config.services.find((x) => x.name === p.name) as ServicePolicy;
      const seen = observed.get(p.name);
      return {
        name: p.name,
        priority: p.priority,
        min: s.min,
        max: s.max,
        value: p.value ?? null,
        // As the reason line counts it: what the rule asks for, within the service's max.
        need: Math.min(p.need, s.max),
        desired: p.desired,
        running: seen?.running ?? 0,
        starting: 0,
        stopping: 0,
      };
    }),
  };
  const total = result.services.reduce((a, s) => a + s.desired, 0);
  process.stdout.write(`${table(snapshot)}\n\ndesired ${total} of capacity ${config.capacity.replicas}\n`);
  for (const s of result.services) if (s.reason) process.stdout.write(`- ${s.reason}\n`);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const o = options(args, { url: { type: 'string' }, json: { type: 'boolean' } });
  if (o.help) return help();
  let snapshot: Snapshot;
  try {
    snapshot = await readState((o.url as string | undefined) ?? 'http://127.0.0.1:8080');
  } catch (error) {
    process.stderr.write(`microscaler status: ${errorMessage(error)}\n`);
    return 1;
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    return 0;
  }
  const cap = snapshot.capacity;
  process.stdout.write(
    `${snapshot.name}: capacity ${cap.used}/${cap.replicas} at ${snapshot.time}\n${table(snapshot)}\n`,
  );
  for (const s of snapshot.services) {
    if (s.error) process.stdout.write(`- ${s.name}: ${s.error}\n`);
  }
  return 0;
}

function requireConfig(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new UsageError('-c FILE is required');
  return value;
}

function parseDurationArg(flag: string, value: unknown): number {
  try {
    return parseDuration(String(value));
  } catch (error) {
    throw new UsageError(`${flag}: ${errorMessage(error)}`);
  }
}

/** NAME=NUMBER pairs, each naming a service of the config. */
function pairs(
  flag: string,
  values: string[] | undefined,
  names: Set<string>,
  integer: boolean,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(v);
    const value = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
      throw new UsageError(`${flag} ${v}: expected NAME=${integer ? 'COUNT' : 'VALUE'} with a number ≥ 0`);
    }
    // The API's bound on a pushed value; a count is bounded by what any capacity could hold.
    const most = integer ? 1_000_000 : MAX_DEMAND;
    if (value > most) throw new UsageError(`${flag} ${v}: at most ${most}`);
    if (!names.has(m[1] as string)) {
      throw new UsageError(`${flag} ${v}: no service "${m[1]}" (services: ${[...names].join(', ')})`);
    }
    out.set(m[1] as string, value);
  }
  return out;
}

function help(): number {
  process.stdout.write(USAGE);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.problems.join('\n')}\n`);
      process.exit(2);
    }
    // Another live instance of this name holds the back-end: acting too would fight it.
    if (error instanceof ClaimedError) {
      process.stderr.write(`microscaler: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`microscaler: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`microscaler: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
