// The instance's claim on its name on the cluster back-ends, against their fakes (test/fakes/): Nomad keeps
// it in a Variable written with check-and-set, ECS in a tag on the cluster (last writer wins). Through the
// claim, and through startInstance as `run` does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ecsClaimTag, ecsTagStore } from '../../src/cli/claim.js';
import { type Instance, startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { type Claim, ClaimedError } from '../../src/ha/claim.js';
import { NomadClaim, variablePath } from '../../src/ha/nomad-claim.js';
import { TagClaim } from '../../src/ha/tag-claim.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { FakeEcs } from '../fakes/ecs-api.js';
import { FakeNomad } from '../fakes/nomad-api.js';
import { expectClaimSemantics } from '../fixtures/claim.js';

const TTL = 1500;
const dir = mkdtempSync(join(tmpdir(), 'microscaler-cluster-claim-'));
const claims: Claim[] = [];
const open: Instance[] = [];
const fakes: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(open.map((i) => i.close({ drain: false })));
  await Promise.all(claims.map((c) => c.close()));
  await Promise.all(fakes.map((f) => f.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function fakeNomad(): Promise<{ nomad: FakeNomad; address: string }> {
  const nomad = new FakeNomad();
  nomad.token = 'claim-token';
  fakes.push(nomad);
  return { nomad, address: await nomad.start() };
}

describe('nomad claim (a Variable, check-and-set)', () => {
  test('one holder; a kill -9 holder expires after the ttl; a release frees it at once', async () => {
    const { nomad, address } = await fakeNomad();
    const instance = 'shop.v2';
    await expectClaimSemantics(
      TTL,
      claims,
      (id) => new NomadClaim({ address, token: 'claim-token', instance, ttlMs: TTL, id }),
      async () => {
        const stored = nomad.variables.get(`default/${variablePath(instance)}`);
        assert.equal(stored?.Items.holder, '', 'released: no holder');
        assert.equal(stored?.Items.instance, 'shop.v2');
      },
    );
  });

  test('racing writers: exactly one wins; a variable of that path that is not a claim is refused', async () => {
    const { nomad, address } = await fakeNomad();
    const racers = Array.from(
      { length: 4 },
      (_, i) => new NomadClaim({ address, token: 'claim-token', instance: 'race', ttlMs: TTL, id: `r${i}` }),
    );
    claims.push(...racers);
    const won = await Promise.all(racers.map((r) => r.acquire(AbortSignal.timeout(5000))));
    assert.equal(won.filter(Boolean).length, 1, `winners: ${won}`);
    nomad.variables.set(`default/${variablePath('theirs')}`, {
      Namespace: 'default',
      Path: variablePath('theirs'),
      Items: { something: 'else' },
      CreateIndex: 1,
      ModifyIndex: 1,
      CreateTime: 0,
      ModifyTime: 0,
    });
    const claim = new NomadClaim({ address, token: 'claim-token', instance: 'theirs', ttlMs: TTL });
    claims.push(claim);
    await assert.rejects(claim.acquire(AbortSignal.timeout(5000)), /is not microscaler's claim/);
  });
});

describe('two instances of one name on nomad', () => {
  test('the second refuses to start, naming the holder; after the first stops, the next starts at once', async () => {
    const { nomad, address } = await fakeNomad();
    const meta = { 'microscaler.instance': 'shop', 'microscaler.service': 'web' };
    nomad.addJob('shop', { web: { meta } });
    const config = parseConfig(
      `
name: shop
capacity: { replicas: 4 }
scheduler: { type: nomad, address: "${address}", token: claim-token }
services:
  web:
    run: { workload: shop/web }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
      { file: 'test.yaml', sourceSchemas, schedulerSchemas },
    );
    const start = async () => {
      const i = await startInstance({
        config,
        clock: systemClock,
        logger: { log() {} },
        baseDir: dir,
        claimTtlMs: TTL,
        env: {},
      });
      open.push(i);
      return i;
    };
    const first = await start();
    await assert.rejects(start(), (error: unknown) => {
      assert.ok(error instanceof ClaimedError, String(error));
      assert.match(error.message, new RegExp(`already running: held by ${first.leadership?.id}`));
      assert.match(error.message, /Nomad variable microscaler\/claim\/shop/);
      return true;
    });
    await first.close({ drain: false });
    open.splice(open.indexOf(first), 1);
    const t0 = performance.now();
    const next = await start();
    assert.ok(performance.now() - t0 < TTL, 'a released claim does not wait for the ttl');
    assert.equal(nomad.variables.get(`default/${variablePath('shop')}`)?.Items.holder, next.leadership?.id);
  });
});

describe('ecs claim (a tag on the cluster, last writer wins)', () => {
  const credentials = { credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' } };

  test('one holder; a kill -9 holder expires after the ttl; a release frees it at once', async () => {
    const ecs = new FakeEcs();
    fakes.push(ecs);
    const endpoint = await ecs.start();
    const settings = { cluster: 'prod', region: 'us-east-1', endpoint };
    const stores = await Promise.all([1, 2, 3].map(() => ecsTagStore(settings, 'shop', credentials)));
    let next = 0;
    await expectClaimSemantics(
      TTL,
      claims,
      (id) =>
        new TagClaim({ store: stores[next++ % 3] as (typeof stores)[0], where: 'test', ttlMs: TTL, id }),
      async () => assert.equal(ecs.clusterTags.get(ecsClaimTag('shop')), '', 'released: no holder'),
    );
  });

  test('two instances of one name: the second refuses to start, naming the holder', async () => {
    const ecs = new FakeEcs();
    fakes.push(ecs);
    const endpoint = await ecs.start();
    ecs.addService('shop-web', { tags: { 'microscaler.instance': 'shop', 'microscaler.service': 'web' } });
    // The SDK reads its credentials from the environment, as it would in a real deployment.
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKE';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake';
    const config = parseConfig(
      `
name: shop
capacity: { replicas: 4 }
scheduler: { type: ecs, cluster: prod, region: us-east-1, endpoint: "${endpoint}" }
services:
  web:
    run: { workload: shop-web }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
      { file: 'test.yaml', sourceSchemas, schedulerSchemas },
    );
    const start = async () => {
      const i = await startInstance({
        config,
        clock: systemClock,
        logger: { log() {} },
        baseDir: dir,
        claimTtlMs: TTL,
        env: {},
      });
      open.push(i);
      return i;
    };
    const first = await start();
    assert.match(ecs.clusterTags.get(ecsClaimTag('shop')) ?? '', new RegExp(`^${first.leadership?.id} `));
    await assert.rejects(start(), (error: unknown) => {
      assert.ok(error instanceof ClaimedError, String(error));
      assert.match(error.message, new RegExp(`already running: held by ${first.leadership?.id}`));
      assert.match(error.message, /tag microscaler.claim\/shop on ECS cluster prod/);
      return true;
    });
  });
});

test('a claim the back-end refuses (ecs:TagResource denied) stops start-up with the reason, not a vague timeout', async () => {
  const ecs = new FakeEcs();
  fakes.push(ecs);
  const endpoint = await ecs.start();
  ecs.readOnlyKeys.add('AKIDREAD');
  ecs.addService('shop-web', { tags: { 'microscaler.instance': 'ro', 'microscaler.service': 'web' } });
  const saved = process.env.AWS_ACCESS_KEY_ID;
  process.env.AWS_ACCESS_KEY_ID = 'AKIDREAD';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake';
  try {
    const config = parseConfig(
      `
name: ro
capacity: { replicas: 4 }
scheduler: { type: ecs, cluster: prod, region: us-east-1, endpoint: "${endpoint}" }
services:
  web:
    run: { workload: shop-web }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
      { file: 'test.yaml', sourceSchemas, schedulerSchemas },
    );
    await assert.rejects(
      startInstance({
        config,
        clock: systemClock,
        logger: { log() {} },
        baseDir: dir,
        claimTtlMs: TTL,
        env: {},
      }),
      (error: unknown) => {
        assert.ok(error instanceof ClaimedError, String(error));
        assert.match(error.message, /could not take its claim: .*not authorized to perform: ecs:TagResource/);
        return true;
      },
    );
    assert.deepEqual(ecs.updates, [], 'nothing was scaled');
  } finally {
    if (saved === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = saved;
  }
});
