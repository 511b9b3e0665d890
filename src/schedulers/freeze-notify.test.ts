// URL freeze notices (issue 13, item 9) with real replicas of the process back-end and a real HTTP server:
// the POST names the service and replica (in the URL and the body), a 2xx answer ends the grace at once,
// a replica whose endpoint never answers is frozen once the grace is over, and a thaw is POSTed too.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../infra/system-clock.js';
import { noticeUrl } from './freeze-notify.js';
import { ProcessScheduler, readProcStat } from './process/index.js';

interface Posted {
  readonly url: string;
  readonly body: { event: string; service: string; replica: string; graceMs: number };
}

/** A server that records each POST and answers it (or never does, with `answer: false`). */
async function endpoint(t: TestContext, answer: boolean) {
  const posted: Posted[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      posted.push({ url: req.url ?? '', body: JSON.parse(text) });
      if (answer) res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  return { posted, url: `http://127.0.0.1:${port}/freeze/{service}/{replica}` };
}

async function scheduler(t: TestContext, notify: string, graceMs: number) {
  const dir = await mkdtemp(join(tmpdir(), 'microscaler-notify-'));
  const s = await ProcessScheduler.create(
    { stateDir: dir },
    {
      clock: systemClock,
      logger: { log: () => {} },
      instance: `notify-${process.pid}`,
      services: [
        {
          name: 'worker',
          run: { command: ['sleep', '60'], stopGraceMs: 200, freezeNotice: { notify, graceMs } },
        },
      ],
    },
  );
  t.after(async () => {
    await s.stopAll().catch(() => {});
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  return s;
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('notice URLs: {service} and {replica} are filled in, URL-encoded', () => {
  assert.equal(
    noticeUrl('http://h/x/{service}?r={replica}&again={replica}', { service: 'web', replica: 'a b/c' }),
    'http://h/x/web?r=a%20b%2Fc&again=a%20b%2Fc',
  );
});

test('URL notice: a 2xx answer ends the grace at once; the thaw is POSTed too', async (t) => {
  const { posted, url } = await endpoint(t, true);
  const s = await scheduler(t, url, 30_000);
  await s.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: start');
  const replica = s.list()[0];
  assert.ok(replica?.pid);
  await s.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted');
  // Frozen long before the 30 s grace: the answer was the acknowledgement.
  await until('the freeze', () => readProcStat(replica.pid as number)?.state === 'T');
  // And frozen as the back-end records it: a scale-up in the moment between SIGSTOP and that record finds
  // the replica still warming and starts a cold one instead of thawing it (the test raced that moment).
  for (;;) {
    const o = (await s.observe(AbortSignal.timeout(5000))).get('worker');
    if (o?.frozen === 1 && (o.warming ?? 0) === 0) break;
    await sleep(10);
  }
  assert.deepEqual(posted, [
    {
      url: `/freeze/worker/${replica.id}`,
      body: { event: 'freeze', service: 'worker', replica: replica.id, graceMs: 30_000 },
    },
  ]);
  await s.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: back');
  await until('the thaw POST', () => posted.length === 2);
  assert.equal(posted[1]?.body.event, 'thaw');
  assert.equal(s.list()[0]?.pid, replica.pid, 'the same process, thawed');
});

test('URL notice: a replica whose endpoint never answers is frozen once the grace is over', async (t) => {
  const { posted, url } = await endpoint(t, false);
  const s = await scheduler(t, url, 3000);
  await s.scaleWithPool('worker', { replicas: 1, frozen: 0 }, 'test: start');
  const pid = s.list()[0]?.pid as number;
  await s.scaleWithPool('worker', { replicas: 0, frozen: 1 }, 'test: preempted');
  await until('the POST', () => posted.length === 1);
  assert.notEqual(readProcStat(pid)?.state, 'T', 'not frozen before its grace is over');
  assert.equal((await s.observe(AbortSignal.timeout(5000))).get('worker')?.warming, 1);
  await until('the freeze', () => readProcStat(pid)?.state === 'T');
});
