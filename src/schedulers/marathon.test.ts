import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FakeMarathon } from '../../test/fakes/marathon-api.js';
import { ConfigError, TransientError } from '../core/errors.js';
import type { SchedulerContext } from '../core/registry.js';
import { systemClock } from '../infra/system-clock.js';
import { MarathonScheduler } from './marathon.js';

const OURS = (service: string) => ({ 'microscaler.instance': 'shop', 'microscaler.service': service });

function ctx(workloads: Record<string, string | undefined>): SchedulerContext {
  return {
    clock: systemClock,
    logger: { log() {} },
    instance: 'shop',
    services: Object.entries(workloads).map(([name, workload]) => ({
      name,
      run: workload ? { workload } : {},
    })),
  };
}

async function until(what: string, f: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fakes: FakeMarathon[] = [];
after(() => Promise.all(fakes.map((f) => f.close())));

async function fake(healthChecks = false): Promise<{ marathon: FakeMarathon; url: string }> {
  const marathon = new FakeMarathon({ startMs: 100, stopMs: 200 });
  fakes.push(marathon);
  marathon.addApp('/shop/web', { instances: 1, labels: OURS('web'), healthChecks });
  marathon.addApp('/shop/other', { instances: 2 });
  return { marathon, url: await marathon.start() };
}

describe('marathon scheduler', () => {
  test('scales an owned app and counts staged, running and killing tasks', async () => {
    const { marathon, url } = await fake(true);
    const s = await MarathonScheduler.create({ url }, ctx({ web: 'shop/web' }));
    await until('1 healthy', async () => (await s.observe()).get('web')?.running === 1);
    await s.scale('web', 3, 'need 3');
    assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 2, stopping: 0 });
    await until('3 running', async () => (await s.observe()).get('web')?.running === 3);
    await s.scale('web', 1, 'less');
    assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 2 });
    await until('killed', async () => (await s.observe()).get('web')?.stopping === 0);
    assert.equal(marathon.app('/shop/other').instances, 2);
  });

  test('a 409 (deployment in progress) is retried with backoff until the lock clears', async () => {
    const { marathon, url } = await fake();
    const s = await MarathonScheduler.create({ url }, ctx({ web: '/shop/web' }));
    marathon.lockedUntil = Date.now() + 600;
    const t0 = Date.now();
    await s.scale('web', 2, 'x');
    const took = Date.now() - t0;
    const conflicts = marathon.puts.filter((p) => p.status === 409).length;
    // 250 + 500 ms of backoff reach past the 600 ms lock: three PUTs, the last accepted.
    assert.equal(conflicts, 2);
    assert.ok(took >= 600, `took ${took} ms`);
    assert.equal(marathon.app('/shop/web').instances, 2);
  });

  test('a lock that outlasts lockWait is a TransientError', async () => {
    const { marathon, url } = await fake();
    const s = await MarathonScheduler.create({ url }, ctx({ web: '/shop/web' }), { lockWaitMs: 300 });
    marathon.lockedUntil = Date.now() + 60_000;
    await assert.rejects(s.scale('web', 2, 'x'), (e: Error) => {
      assert.ok(e instanceof TransientError);
      assert.match(e.message, /app \/shop\/web stayed locked by a deployment for 300 ms; will retry/);
      return true;
    });
    assert.equal(marathon.app('/shop/web').instances, 1);
    assert.ok(!marathon.puts.some((p) => p.status === 200), 'never forced');
  });

  test('refuses an app without our labels, and never scales it', async () => {
    const { marathon, url } = await fake();
    await assert.rejects(
      MarathonScheduler.create({ url }, ctx({ web: '/shop/other' })),
      /not scaling Marathon app \/shop\/other: it is not labelled/,
    );
    assert.equal(marathon.puts.length, 0);
  });

  test('404 names the app; a bad id is a config error', async () => {
    const { url } = await fake();
    await assert.rejects(
      MarathonScheduler.create({ url }, ctx({ web: '/shop/nope' })),
      /Marathon app \/shop\/nope not found at http:\/\/127.0.0.1:\d+ \(App '\/shop\/nope' does not exist\)/,
    );
    await assert.rejects(MarathonScheduler.create({ url }, ctx({ web: 'Shop Web' })), ConfigError);
  });

  test('401 and 403 are clear and never show the credentials', async () => {
    const { marathon, url } = await fake();
    marathon.authorization = 'token=good-token-1';
    marathon.readOnly.add('token=viewer-token-2');
    await MarathonScheduler.create({ url, token: 'good-token-1' }, ctx({ web: '/shop/web' }));
    await assert.rejects(
      MarathonScheduler.create({ url, token: 'bad-token-3' }, ctx({ web: '/shop/web' })),
      (e: Error) => {
        assert.match(e.message, /refused access to app \/shop\/web \(HTTP 401/);
        assert.doesNotMatch(e.message, /token-/);
        return true;
      },
    );
    const viewer = await MarathonScheduler.create(
      { url, token: 'viewer-token-2' },
      ctx({ web: '/shop/web' }),
    );
    await assert.rejects(
      viewer.scale('web', 2, 'x'),
      (e: Error) => /HTTP 403/.test(e.message) && !/token-/.test(e.message),
    );
    marathon.authorization = `Basic ${Buffer.from('ops:pw-secret').toString('base64')}`;
    const basic = new URL(url);
    basic.username = 'ops';
    basic.password = 'pw-secret';
    await MarathonScheduler.create({ url: basic.toString() }, ctx({ web: '/shop/web' }));
  });

  test('a slow Marathon is a TransientError', async () => {
    const { marathon, url } = await fake();
    const s = await MarathonScheduler.create({ url }, ctx({ web: '/shop/web' }), { timeoutMs: 100 });
    marathon.delayMs = 400;
    await assert.rejects(
      s.observe(),
      (e: Error) => e instanceof TransientError && /did not answer within 100 ms/.test(e.message),
    );
  });
});
