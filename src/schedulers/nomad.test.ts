import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FakeNomad } from '../../test/fakes/nomad-api.js';
import { ConfigError, TransientError } from '../core/errors.js';
import type { SchedulerContext } from '../core/registry.js';
import { systemClock } from '../infra/system-clock.js';
import { NomadScheduler } from './nomad.js';

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

const fakes: FakeNomad[] = [];
after(() => Promise.all(fakes.map((f) => f.close())));

async function fake(): Promise<{ nomad: FakeNomad; address: string }> {
  const nomad = new FakeNomad({ startMs: 100, stopMs: 200 });
  fakes.push(nomad);
  nomad.addJob('shop', { web: { count: 1, meta: OURS('web') }, other: { count: 2 } });
  return { nomad, address: await nomad.start() };
}

describe('nomad scheduler', () => {
  test('scales an owned group and counts starting, running and stopping allocations', async () => {
    const { nomad, address } = await fake();
    const s = await NomadScheduler.create({ address }, ctx({ web: 'shop/web' }), { env: {} });
    await until('1 running', async () => (await s.observe()).get('web')?.running === 1);
    await s.scale('web', 3, 'need 3');
    assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 2, stopping: 0 });
    assert.equal(nomad.scaleRequests.at(-1)?.message, 'microscaler: need 3');
    await until('3 running', async () => (await s.observe()).get('web')?.running === 3);
    await s.scale('web', 1, 'less');
    assert.deepEqual((await s.observe()).get('web'), { running: 1, starting: 0, stopping: 2 });
    await until('stopped', async () => (await s.observe()).get('web')?.stopping === 0);
    assert.equal(nomad.group('shop', 'other').count, 2, 'the unowned group is untouched');
  });

  test('refuses a group without our meta, and never scales it', async () => {
    const { nomad, address } = await fake();
    await assert.rejects(
      NomadScheduler.create({ address }, ctx({ web: 'shop/other' }), { env: {} }),
      /not scaling Nomad group shop\/other: it is not labelled microscaler.instance=shop/,
    );
    assert.equal(nomad.scaleRequests.length, 0);
  });

  test('checks ownership again before each scale', async () => {
    const { nomad, address } = await fake();
    const s = await NomadScheduler.create({ address }, ctx({ web: 'shop/web' }), { env: {} });
    nomad.group('shop', 'web').meta = {};
    await assert.rejects(s.scale('web', 4, 'x'), /not labelled/);
    assert.equal(nomad.scaleRequests.length, 0);
  });

  test('an active deployment is a TransientError, and the next try succeeds', async () => {
    const { nomad, address } = await fake();
    const s = await NomadScheduler.create({ address }, ctx({ web: 'shop/web' }), { env: {} });
    nomad.deploymentActive = true;
    await assert.rejects(s.scale('web', 2, 'x'), (e: Error) => {
      assert.ok(e instanceof TransientError);
      assert.match(e.message, /deployment is active; will retry/);
      return true;
    });
    nomad.deploymentActive = false;
    await s.scale('web', 2, 'x');
    assert.equal(nomad.group('shop', 'web').count, 2);
  });

  test('a missing job or group names the workload', async () => {
    const { address } = await fake();
    await assert.rejects(
      NomadScheduler.create({ address }, ctx({ web: 'nope/web' }), { env: {} }),
      /job nope not found in namespace default/,
    );
    await assert.rejects(
      NomadScheduler.create({ address }, ctx({ web: 'shop/api' }), { env: {} }),
      /job shop has no task group "api" \(services.web.run.workload; groups: web, other\)/,
    );
    await assert.rejects(
      NomadScheduler.create({ address, namespace: 'prod' }, ctx({ web: 'shop/web' }), { env: {} }),
      /not found in namespace prod/,
    );
  });

  test('a missing or malformed workload is a config error', async () => {
    const { address } = await fake();
    await assert.rejects(
      NomadScheduler.create({ address }, ctx({ web: undefined, batch: 'shop' }), { env: {} }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.problems.length, 2);
        assert.match(e.problems[1] ?? '', /^services.batch.run.workload: "shop" should be JOB\/GROUP/);
        return true;
      },
    );
  });

  test('ACL: the token from NOMAD_TOKEN is sent, a wrong one is refused without being printed', async () => {
    const { nomad, address } = await fake();
    nomad.token = 'secret-token-1';
    await NomadScheduler.create({ address }, ctx({ web: 'shop/web' }), {
      env: { NOMAD_TOKEN: 'secret-token-1' },
    });
    await assert.rejects(
      NomadScheduler.create({ address, token: 'wrong-token-2' }, ctx({ web: 'shop/web' }), { env: {} }),
      (e: Error) => {
        assert.match(e.message, /refused access to job shop \(HTTP 403: Permission denied\)/);
        assert.doesNotMatch(e.message, /wrong-token-2|secret-token-1/);
        return true;
      },
    );
  });

  test('a slow agent is a TransientError naming the request', async () => {
    const { nomad, address } = await fake();
    const s = await NomadScheduler.create({ address }, ctx({ web: 'shop/web' }), { env: {}, timeoutMs: 100 });
    nomad.delayMs = 400;
    await assert.rejects(s.observe(), (e: Error) => {
      assert.ok(e instanceof TransientError);
      assert.match(e.message, /GET http:\/\/127.0.0.1:\d+\/v1\/job\/shop.* did not answer within 100 ms/);
      return true;
    });
  });

  test('a server error is transient', async () => {
    const { nomad, address } = await fake();
    const s = await NomadScheduler.create({ address }, ctx({ web: 'shop/web' }), { env: {} });
    nomad.failures.push({
      method: 'POST',
      path: /scale$/,
      status: 500,
      body: 'rpc error: No cluster leader',
    });
    await assert.rejects(
      s.scale('web', 2, 'x'),
      (e: Error) => e instanceof TransientError && /No cluster leader/.test(e.message),
    );
  });
});
