// Microscaling in a box: a producer pushes jobs onto a Redis list at a rate that follows a real trace
// (time-compressed), consumer processes pop and work on them, a priority-2 batch service takes the rest of
// the capacity. The same load runs twice in one invocation: under microscaler, and with a static split of
// the capacity. Run: node --import tsx examples/redis-queue/run.ts [--duration 60s] [--help]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { streamLogger } from '../../src/infra/logger.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { parseDuration } from '../../src/sources/duration.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { parseTrace } from '../../src/sources/trace.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const TRACES = fileURLToPath(new URL('../../../shared/traces/', import.meta.url));

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60s' },
    tail: { type: 'string', default: '10s' },
    capacity: { type: 'string', default: '12' },
    'work-ms': { type: 'string', default: '100' },
    trace: { type: 'string', default: join(TRACES, 'azure_functions_2019_8h_12fn_1min.csv') },
    service: { type: 'string', default: 'fn-queue-0c0c478d' },
    'trace-start': { type: 'string', default: '0' },
    speed: { type: 'string', default: '60' },
    scale: { type: 'string', default: '0.5' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    utilisation: { type: 'string', default: '0.8' },
    only: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: node --import tsx examples/redis-queue/run.ts [options]
  --duration 60s      how long the producer runs (each of the two runs)
  --tail 10s          how long the consumers may drain after the producer stops
  --capacity 12       replicas shared by consumers and batch
  --work-ms 100       time a consumer works on one job
  --trace FILE        a t_seconds,service,demand CSV (default: Azure Functions 2019, ../shared/traces)
  --service NAME      which series of the trace (default fn-queue-0c0c478d, a queue-triggered function)
  --trace-start 0     trace second to start at
  --speed 60          trace seconds per real second (60: one trace minute per second)
  --scale 0.5         jobs per trace invocation
  --utilisation 0.8   the consumers' target busy share under microscaler (headroom for bursts)
  --only microscaler|static   run one of the two
  --redis URL         default redis://127.0.0.1:6379`);
  process.exit(0);
}

const durationMs = parseDuration(args.duration);
const tailMs = parseDuration(args.tail);
const capacity = Number(args.capacity);
const workMs = Number(args['work-ms']);
const speed = Number(args.speed);
const scale = Number(args.scale);
const traceStart = Number(args['trace-start']);
const utilisation = Number(args.utilisation);

const trace = parseTrace(readFileSync(args.trace, 'utf8'));
const series = trace.services.get(args.service);
if (!series)
  throw new Error(
    `service ${args.service} not in ${args.trace} (has ${[...trace.services.keys()].join(', ')})`,
  );

/** Jobs per real second at real time `ms` into the run: the trace's rate, compressed by `speed`. */
function rateAt(ms: number): number {
  const traceSecond = traceStart + (ms / 1000) * speed;
  const i = Math.floor((traceSecond - trace.start) / trace.step);
  const demand = series?.demand[Math.min(i, (series?.demand.length ?? 1) - 1)] ?? 0;
  return (demand / trace.step) * speed * scale;
}

interface Result {
  readonly label: string;
  readonly produced: number;
  readonly done: number;
  readonly left: number;
  readonly longestQueue: number;
  readonly p50: number;
  readonly p99: number;
  readonly batch: number;
}

async function runOnce(mode: 'microscaler' | 'static', redis: Redis): Promise<Result> {
  const key = `microscaler-example:${process.pid}:${mode}`;
  const keys = [key, `${key}:waits`, `${key}:added`, `${key}:batch`];
  await redis.del(...keys);
  const half = Math.floor(capacity / 2);
  const env = { REDIS_URL: args.redis, QUEUE_KEY: key, WORK_MS: String(workMs) };
  const worker = {
    priority: 1,
    min: 1,
    max: capacity,
    scaleDownWindow: '2s',
    run: { command: [process.execPath, join(HERE, 'consumer.mjs')], env, stopGrace: '5s' },
    demand:
      mode === 'microscaler'
        ? {
            // Backlog and arrival rate (from the producer's counter), drained within 3 s; each consumer
            // counted at the target utilisation, so a burst finds some headroom before the next tick.
            source: {
              type: 'redis-list',
              url: args.redis,
              key,
              counterKey: `${key}:added`,
              rateWindow: '2s',
            },
            rule: { type: 'queue', perReplicaRate: (1000 / workMs) * utilisation, drainSeconds: 3 },
          }
        : { rule: { type: 'fixed', replicas: half } },
  };
  const batch = {
    priority: 2,
    scaleDownWindow: '2s',
    run: { command: [process.execPath, join(HERE, 'batch.mjs')], env, stopGrace: '2s' },
    demand:
      mode === 'microscaler'
        ? { rule: { type: 'remainder' } }
        : { rule: { type: 'fixed', replicas: capacity - half } },
  };
  const stateDir = mkdtempSync(join(tmpdir(), `microscaler-example-${mode}-`));
  const config = parseConfig(
    JSON.stringify({
      name: `redis-queue-example-${mode}`,
      capacity: { replicas: capacity },
      interval: '100ms',
      scheduler: { type: 'process', stateDir },
      services: { worker, batch },
    }),
    { sourceSchemas, schedulerSchemas, file: 'example.json' },
  );
  const instance = await startInstance({
    config,
    clock: systemClock,
    logger: streamLogger(process.stderr, { level: args.verbose ? 'info' : 'warn' }),
    baseDir: HERE,
  });
  try {
    // Let the replicas come up before the clock starts, so both runs begin from a settled state.
    const settleBy = Date.now() + 20_000;
    for (;;) {
      const s = instance.controller.snapshot();
      if (
        s.services.every((x) => x.starting === 0 && x.running === x.desired) &&
        s.capacity.used === capacity
      )
        break;
      if (Date.now() > settleBy) break;
      await sleep(100);
    }
    await redis.set(`${key}:batch`, 0);
    const started = Date.now();
    let produced = 0;
    let owed = 0;
    let longest = 0;
    let lastShown = 0;
    while (Date.now() - started < durationMs && !interrupted) {
      const elapsed = Date.now() - started;
      owed += rateAt(elapsed) / 10;
      const n = Math.floor(owed);
      owed -= n;
      if (n > 0) {
        const now = String(Date.now());
        await redis
          .multi()
          .rpush(key, ...Array.from({ length: n }, () => now))
          .incrby(`${key}:added`, n)
          .exec();
        produced += n;
      }
      longest = Math.max(longest, await redis.llen(key));
      if (elapsed - lastShown >= 5000) {
        lastShown = elapsed;
        const w = instance.controller.snapshot().services;
        const line = w.map((s) => `${s.name} ${s.running}`).join(', ');
        process.stderr.write(
          `  ${mode} ${Math.round(elapsed / 1000)}s: ${rateAt(elapsed).toFixed(0)} jobs/s, queue ${await redis.llen(key)}, ${line}\n`,
        );
      }
      await sleep(100 - ((Date.now() - started) % 100));
    }
    const tailEnd = Date.now() + tailMs;
    while (Date.now() < tailEnd && !interrupted && (await redis.llen(key)) > 0) {
      longest = Math.max(longest, await redis.llen(key));
      await sleep(100);
    }
    const end = Date.now();
    const waits = (await redis.lrange(`${key}:waits`, 0, -1)).map(Number);
    // Jobs still queued at the end have waited at least until now: they count, or the p99 would flatter.
    const leftJobs = (await redis.lrange(key, 0, -1)).map((t) => end - Number(t));
    const all = [...waits, ...leftJobs].sort((a, b) => a - b);
    const pct = (p: number) => all[Math.min(all.length - 1, Math.ceil((p / 100) * all.length) - 1)] ?? 0;
    return {
      label: mode === 'microscaler' ? 'microscaler' : `static split ${half}+${capacity - half}`,
      produced,
      done: waits.length,
      left: leftJobs.length,
      longestQueue: longest,
      p50: pct(50),
      p99: pct(99),
      batch: Number(await redis.get(`${key}:batch`)),
    };
  } finally {
    await instance.close({ drain: true });
    rmSync(stateDir, { recursive: true, force: true });
    await redis.del(...keys);
  }
}

// Ctrl-C ends the run early but still stops every replica (they run detached from this process).
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('stopping (Ctrl-C again to leave the replicas running)\n');
});

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

const redis = new Redis(args.redis);
const modes = (args.only ? [args.only] : ['microscaler', 'static']) as ('microscaler' | 'static')[];
const traceMinutes = ((durationMs / 1000) * speed) / 60;
console.log(
  `microscaling in a box: ${args.service} from ${args.trace.split('/').pop()}, trace seconds ${traceStart}-${traceStart + (durationMs / 1000) * speed}` +
    ` (${traceMinutes} trace minutes) replayed time-compressed ${speed}x in ${durationMs / 1000}s, ${scale} jobs per invocation;` +
    ` capacity ${capacity} replicas, ${workMs} ms per job, ${tailMs / 1000}s to drain after the producer stops`,
);
const results: Result[] = [];
try {
  for (const mode of modes) {
    if (interrupted) break;
    process.stderr.write(`running ${mode} ...\n`);
    results.push(await runOnce(mode, redis));
  }
} finally {
  redis.disconnect();
}
const header = ['', 'jobs', 'done', 'left', 'longest queue', 'p50 wait', 'p99 wait', 'batch work'];
const rows = results.map((r) => [
  r.label,
  String(r.produced),
  String(r.done),
  String(r.left),
  String(r.longestQueue),
  `${r.p50} ms`,
  `${r.p99} ms`,
  `${(r.batch / 10).toFixed(0)} replica-s`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
for (const row of [header, ...rows]) {
  console.log(
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
  );
}
console.log(
  '(waits include jobs still queued at the end, counted at their age then; batch work = batch replica-seconds done)',
);
