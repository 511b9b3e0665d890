// Freeze notices with a real queue consumer on real RabbitMQ (issue 13, item 9). A frozen consumer keeps its
// connection, so the messages it has been delivered stay unacknowledged, out of everyone else's reach, until
// the broker times the connection out (minutes). With `notify`, the consumer is told before the freeze and
// requeues them: a second consumer has them at once. Replicas are real processes of the process back-end.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Channel, type ConsumeMessage, connect } from 'amqplib';
import type { SchedulerContext } from '../../src/core/registry.js';
import type { FreezeNotice, RunSpec } from '../../src/core/types.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { ProcessScheduler, readProcStat } from '../../src/schedulers/process/index.js';
import { serverGate, uniqueName } from '../sources/servers.js';

const AMQP = 'amqp://guest:guest@127.0.0.1:5672';
const CONSUMER = fileURLToPath(new URL('../fixtures/freeze/consumer.mjs', import.meta.url));
const MESSAGES = 10;
const skip = await serverGate('RabbitMQ', 5672);

/** Polls until `check` holds, for at most `ms` (generous: the machine is shared). */
async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Setup {
  readonly scheduler: ProcessScheduler;
  readonly channel: Channel;
  readonly queue: string;
  /** The replica's log lines (see the fixture). */
  lines(): string[];
  pid(): number;
}

async function setUp(t: TestContext, notice?: FreezeNotice): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-notice-'));
  const queue = uniqueName('microscaler-notice');
  const connection = await connect(AMQP);
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: false });
  const run: RunSpec = {
    command: [process.execPath, CONSUMER, AMQP, queue, dir],
    stopGraceMs: 2000,
    ...(notice ? { freezeNotice: notice } : {}),
  };
  const ctx: SchedulerContext = {
    clock: systemClock,
    logger: { log: () => {} },
    instance: uniqueName('notice'),
    services: [{ name: 'worker', run }],
  };
  const scheduler = await ProcessScheduler.create({ stateDir: join(dir, 'state') }, ctx);
  t.after(async () => {
    await scheduler.stopAll().catch(() => {});
    await scheduler.close();
    await channel.deleteQueue(queue).catch(() => {});
    await connection.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  const pid = () => {
    const replica = scheduler.list().find((r) => r.service === 'worker' && r.state !== 'stopping');
    assert.ok(replica?.pid, 'a replica runs');
    return replica.pid;
  };
  const lines = () => {
    const replica = scheduler.list().find((r) => r.service === 'worker');
    const file = replica ? join(dir, `${replica.id}.log`) : '';
    return replica && existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  };
  return { scheduler, channel, queue, lines, pid };
}

/** A consumer, started, its replica given every message, then frozen as a preemption would freeze it. */
async function frozenConsumer(t: TestContext, notice?: FreezeNotice): Promise<Setup> {
  const s = await setUp(t, notice);
  await s.scheduler.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: start');
  await until('the consumer to be ready', () => s.lines().includes('ready'));
  for (let i = 0; i < MESSAGES; i++) s.channel.sendToQueue(s.queue, Buffer.from(`m${i}`));
  await until('the consumer to hold every message', () => count(s.lines(), 'got ') === MESSAGES);
  const pid = s.pid();
  await s.scheduler.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted worker ×1 for web');
  await until('the replica to be frozen (T in /proc)', () => readProcStat(pid)?.state === 'T');
  return s;
}

/** What a second consumer receives within `ms` after it starts. */
async function secondConsumer(channel: Channel, queue: string, ms: number): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  const { consumerTag } = await channel.consume(queue, (m) => {
    if (m) got.push(m);
  });
  const deadline = Date.now() + ms;
  while (got.length < MESSAGES && Date.now() < deadline) await sleep(20);
  await channel.cancel(consumerTag);
  for (const m of got) channel.ack(m);
  return got;
}

function count(lines: readonly string[], prefix: string): number {
  return lines.filter((l) => l.startsWith(prefix)).length;
}

test('freeze notice: a notified consumer requeues what it holds before it is frozen, a second consumer has it at once, and it consumes again once thawed', {
  skip,
}, async (t) => {
  const s = await frozenConsumer(t, { notify: 'SIGUSR1', graceMs: 3000 });
  assert.ok(s.lines().includes(`notice ${MESSAGES}`), `told before the freeze: ${s.lines().join(', ')}`);
  // Frozen with nothing in hand: every message is the second consumer's, at once (bound: 5 s).
  const got = await secondConsumer(s.channel, s.queue, 5000);
  assert.equal(got.length, MESSAGES, 'no message waits for the frozen consumer');
  // Thawed: same process, told by its SIGCONT, consuming again.
  const pid = s.pid();
  await s.scheduler.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: web gave it back');
  await until('the consumer to resume', () => s.lines().includes('resumed'));
  assert.equal(s.pid(), pid, 'thawed, not restarted');
  s.channel.sendToQueue(s.queue, Buffer.from('after'));
  await until('the thawed consumer to get a new message', () => s.lines().includes('got after'));
});

test('freeze without a notice (the case it fixes): the frozen consumer keeps its messages, nobody else gets them', {
  skip,
}, async (t) => {
  const s = await frozenConsumer(t);
  assert.equal(count(s.lines(), 'notice'), 0);
  const got = await secondConsumer(s.channel, s.queue, 3000);
  assert.equal(got.length, 0, 'every message waits for the frozen consumer');
});

test('freeze notice: a replica that a scale-up needs during its grace is not frozen, and is told to go on', {
  skip,
}, async (t) => {
  const s = await setUp(t, { notify: 'SIGUSR1', graceMs: 20_000 });
  await s.scheduler.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: start');
  await until('the consumer to be ready', () => s.lines().includes('ready'));
  const pid = s.pid();
  await s.scheduler.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted');
  await until('the notice', () => count(s.lines(), 'notice') === 1);
  // Counted as warming (holding its capacity) while it is in its grace.
  assert.equal((await s.scheduler.observe(AbortSignal.timeout(5000))).get('worker')?.warming, 1);
  await s.scheduler.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: needed again');
  await until('the consumer to resume', () => s.lines().includes('resumed'), 5000);
  assert.equal(s.pid(), pid, 'the same process, not a new one');
  const observed = (await s.scheduler.observe(AbortSignal.timeout(5000))).get('worker');
  assert.equal(observed?.running, 1);
  assert.equal(observed?.warming ?? 0, 0);
  assert.notEqual(readProcStat(pid)?.state, 'T');
  s.channel.sendToQueue(s.queue, Buffer.from('again'));
  await until('the consumer to get a new message', () => s.lines().includes('got again'));
});

test('freeze notice: microscaler closing during the grace leaves the replica running and consuming, never frozen', {
  skip,
}, async (t) => {
  const s = await setUp(t, { notify: 'SIGUSR1', graceMs: 4000 });
  await s.scheduler.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: start');
  await until('the consumer to be ready', () => s.lines().includes('ready'));
  const pid = s.pid();
  t.after(() => {
    try {
      process.kill(-pid, 'SIGKILL'); // left running by close(), as for the next run to adopt
    } catch {}
  });
  await s.scheduler.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted');
  await until('the notice', () => count(s.lines(), 'notice') === 1);
  await s.scheduler.close();
  await until('the consumer to resume', () => s.lines().includes('resumed'), 5000);
  await sleep(4500); // past the grace: nothing freezes it now
  assert.notEqual(readProcStat(pid)?.state, 'T', 'frozen after close');
  s.channel.sendToQueue(s.queue, Buffer.from('later'));
  await until('the consumer to get a new message', () => s.lines().includes('got later'));
});
