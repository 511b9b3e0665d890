// Source read latency on loopback (p50, p99) for each kind, next to the bare client call it wraps, timed in
// the same run; and the cost of one controller tick with 50 services reading 50 sources, next to the same
// 50 bare calls made concurrently. Needs the servers of .ci (Redis, RabbitMQ, NATS, PostgreSQL; Prometheus
// if installed). Run: node --import tsx bench/sources.ts [--quick]
import { createServer } from 'node:http';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect } from 'nats';
import pg from 'pg';
import { Controller } from '../src/controller/index.js';
import type { Source } from '../src/core/ports.js';
import type { ServicePolicy, SourceSpec } from '../src/core/types.js';
import { silentLogger } from '../src/infra/logger.js';
import { systemClock } from '../src/infra/system-clock.js';
import { createSource } from '../src/sources/registry.js';
import { FakeScheduler } from '../test/fakes/fake-scheduler.js';
import { FakeSqs } from '../test/fakes/sqs-server.js';
import { prometheusInstalled, startPrometheus } from '../test/sources/prometheus-server.js';

const quick = process.argv.includes('--quick');
const READS = quick ? 200 : 2000;
const TICKS = quick ? 50 : 300;
const ctx = { clock: systemClock, logger: silentLogger, service: 'bench', baseDir: process.cwd() };
const tag = `ms-bench-${process.pid}`;

function pct(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(); // warm up connections and JIT
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

/** Source reads and bare calls interleaved in rounds, so both see the same machine load. */
async function compare(source: Source, bare: () => Promise<unknown>) {
  const read = async () => {
    const r = await source.read(AbortSignal.timeout(5000));
    if (!r.ok) throw new Error(r.error);
  };
  const s: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < 10; round++) {
    s.push(...(await time(READS / 10, read)));
    b.push(...(await time(READS / 10, bare)));
  }
  return { source: s, bare: b };
}

interface Row {
  kind: string;
  source: number[];
  bare: number[];
}
const rows: Row[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

async function bench(kind: string, spec: SourceSpec, bare: () => Promise<unknown>): Promise<void> {
  const source = await createSource(spec, ctx);
  try {
    rows.push({ kind, ...(await compare(source, bare)) });
  } finally {
    await source.close();
  }
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

// --- servers and bare clients ---
const redis = new Redis('redis://127.0.0.1:6379');
cleanups.push(async () => {
  await redis.del(`${tag}:list`, `${tag}:stream`);
  redis.disconnect();
});
await redis.rpush(`${tag}:list`, 'a', 'b', 'c');
await redis.xgroup('CREATE', `${tag}:stream`, 'g', '$', 'MKSTREAM');

const amqp: ChannelModel = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
const channel = await amqp.createChannel();
await channel.assertQueue(tag, { durable: false });
cleanups.push(async () => {
  await channel.deleteQueue(tag);
  await amqp.close();
});

const nc = await natsConnect({ servers: '127.0.0.1:4222' });
const jsm = await nc.jetstreamManager();
const stream = tag.replace(/-/g, '_');
await jsm.streams.add({ name: stream, subjects: [`${stream}.jobs`] });
await jsm.consumers.add(stream, { durable_name: 'workers' });
cleanups.push(async () => {
  await jsm.streams.delete(stream);
  await nc.close();
});

const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', max: 1 });
cleanups.push(() => pool.end());
// The source refuses a superuser, so it reads as a login role with no privileges, as a user's would;
// `select 42` needs none.
const pgReader = `${stream}_reader`;
const PG_READER_URL = `postgres://${pgReader}@127.0.0.1:5432/test`;
await pool.query(`create role ${pgReader} login`);
cleanups.push(() => pool.query(`drop role if exists ${pgReader}`));

const httpServer = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"queue":{"depth":42}}');
});
await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const httpUrl = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}/`;
cleanups.push(async () => {
  httpServer.closeAllConnections();
  httpServer.close();
});

const sqsFake = await FakeSqs.start();
const queueUrl = sqsFake.createQueue('bench');
const keys = { accessKeyId: 'AKIABENCH', secretAccessKey: 'bench-secret' };
const sqs = new SQSClient({
  region: 'us-east-1',
  endpoint: sqsFake.url,
  credentials: { ...keys },
  maxAttempts: 1,
});
cleanups.push(async () => {
  sqs.destroy();
  await sqsFake.stop();
});

try {
  console.log(`== source read latency on loopback (${READS} sequential reads each) ==`);
  await bench('redis-list', { type: 'redis-list', url: 'redis://127.0.0.1:6379', key: `${tag}:list` }, () =>
    redis.llen(`${tag}:list`),
  );
  await bench(
    'redis-stream',
    { type: 'redis-stream', url: 'redis://127.0.0.1:6379', stream: `${tag}:stream`, group: 'g' },
    () => redis.xinfo('GROUPS', `${tag}:stream`),
  );
  await bench('rabbitmq', { type: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:5672', queue: tag }, () =>
    channel.checkQueue(tag),
  );
  await bench(
    'nats-jetstream',
    { type: 'nats-jetstream', url: 'nats://127.0.0.1:4222', stream, consumer: 'workers' },
    () => jsm.consumers.info(stream, 'workers'),
  );
  // The bare call is the same statement without the read-only transaction around it.
  await bench('postgres', { type: 'postgres', url: PG_READER_URL, query: 'select 42' }, () =>
    pool.query('select 42'),
  );
  await bench('http', { type: 'http', url: httpUrl, path: 'queue.depth' }, async () =>
    (await fetch(httpUrl)).json(),
  );
  await bench('sqs (fake server)', { type: 'sqs', queueUrl, region: 'us-east-1', ...keys }, () =>
    sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    ),
  );
  if (prometheusInstalled()) {
    const prom = await startPrometheus();
    const url = `${prom.url}/api/v1/query?query=${encodeURIComponent('count(up)')}`;
    try {
      await bench('prometheus', { type: 'prometheus', url: prom.url, query: 'count(up)' }, async () =>
        (await fetch(url)).json(),
      );
    } finally {
      await prom.stop();
    }
  }
  const header = ['source', 'p50', 'p99', 'bare p50', 'bare p99', 'p50 ratio'];
  const table = rows.map((r) => [
    r.kind,
    fmt(pct(r.source, 50)),
    fmt(pct(r.source, 99)),
    fmt(pct(r.bare, 50)),
    fmt(pct(r.bare, 99)),
    `${(pct(r.source, 50) / pct(r.bare, 50)).toFixed(2)}x`,
  ]);
  printTable(header, table);

  console.log(`\n== one controller tick with 50 services reading 50 sources (${TICKS} ticks) ==`);
  for (const mix of ['redis-list', 'mixed'] as const) {
    const specs: SourceSpec[] = [];
    const bares: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 50; i++) {
      const kind = mix === 'redis-list' ? 0 : i % 5;
      if (kind === 0) {
        specs.push({ type: 'redis-list', url: 'redis://127.0.0.1:6379', key: `${tag}:list` });
        bares.push(() => redis.llen(`${tag}:list`));
      } else if (kind === 1) {
        specs.push({ type: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:5672', queue: tag });
        bares.push(() => channel.checkQueue(tag));
      } else if (kind === 2) {
        specs.push({ type: 'nats-jetstream', url: 'nats://127.0.0.1:4222', stream, consumer: 'workers' });
        bares.push(() => jsm.consumers.info(stream, 'workers'));
      } else if (kind === 3) {
        specs.push({ type: 'postgres', url: PG_READER_URL, query: 'select 42' });
        bares.push(() => pool.query('select 42'));
      } else {
        specs.push({ type: 'http', url: httpUrl, path: 'queue.depth' });
        bares.push(async () => (await fetch(httpUrl)).json());
      }
    }
    // Each service has its own source, as in a real config: 50 connections, one per source.
    const sources = new Map<string, Source>();
    for (const [i, spec] of specs.entries()) sources.set(`svc-${i}`, await createSource(spec, ctx));
    const services: ServicePolicy[] = [...sources.keys()].map((name) => ({
      name,
      priority: 1,
      min: 0,
      max: 2,
      rule: { type: 'target', perReplica: 100, activation: 0 },
      resources: { cpu: 0, memory: 0 },
      scaleDownWindowMs: 1000,
    }));
    const scheduler = new FakeScheduler(services.map((s) => s.name));
    scheduler.instant = true;
    const controller = new Controller({
      name: 'bench',
      capacity: { replicas: 200 },
      intervalMs: 100,
      readTimeoutMs: 1000,
      services,
      sources,
      scheduler,
      clock: systemClock,
      logger: silentLogger,
    });
    const tick = async () => {
      const plan = await controller.tick();
      if (plan?.services.some((s) => s.error)) throw new Error(plan.services.find((s) => s.error)?.error);
    };
    // Connections open on the first reads: tick until every source has answered before timing.
    const ready = Date.now() + 30_000;
    for (;;) {
      const plan = await controller.tick();
      if (plan && !plan.services.some((s) => s.error)) break;
      if (Date.now() > ready)
        throw new Error(`sources not ready: ${plan?.services.find((s) => s.error)?.error}`);
    }
    const bare = () => Promise.all(bares.map((b) => b()));
    const ticks: number[] = [];
    const bareTimes: number[] = [];
    for (let round = 0; round < 10; round++) {
      ticks.push(...(await time(TICKS / 10, tick)));
      bareTimes.push(...(await time(TICKS / 10, bare)));
    }
    await controller.stop();
    await Promise.all([...sources.values()].map((s) => s.close()));
    printTable(
      ['50 sources', 'tick p50', 'tick p99', 'bare p50', 'bare p99', 'p50 ratio'],
      [
        [
          mix === 'redis-list' ? 'redis-list ×50' : 'mixed ×10 each',
          fmt(pct(ticks, 50)),
          fmt(pct(ticks, 99)),
          fmt(pct(bareTimes, 50)),
          fmt(pct(bareTimes, 99)),
          `${(pct(ticks, 50) / pct(bareTimes, 50)).toFixed(2)}x`,
        ],
      ],
    );
  }
  console.log(
    '(bare: the client call each source wraps, on one shared connection, in the same run; a tick also observes the back-end and plans)',
  );
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}

function printTable(header: string[], table: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...table]) {
    console.log(
      row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    );
  }
}
