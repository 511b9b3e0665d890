// An instance's claim on its name, on a real engine: docker (labelled volumes) and swarm (a config object
// with compare-and-set labels). Two `run`s of one instance must not both act; a holder killed with -9
// blocks a restart only until its claim expires. Through the claim objects, and through the CLI.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { type Claim, ClaimedError } from '../../src/ha/claim.js';
import { CLAIM_LABEL, DockerClaim } from '../../src/ha/docker-claim.js';
import { configName, SwarmClaim } from '../../src/ha/swarm-claim.js';
import { DockerApi, filters } from '../../src/infra/docker-api.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { schedulerSchemas } from '../../src/schedulers/registry.js';
import { swarmServiceName } from '../../src/schedulers/swarm.js';
import { sourceSchemas } from '../../src/sources/registry.js';
import { expectClaimSemantics } from '../fixtures/claim.js';
import {
  containersOf,
  findEngine,
  needApi,
  removeContainers,
  skipUnless,
  TEST_IMAGE,
  uniqueName,
  waitFor,
} from '../fixtures/docker/engine.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const engine = await findEngine();
const swarm = engine.api
  ? await engine.api
      .request<{ Swarm?: { LocalNodeState?: string } }>('GET', '/info')
      .then((r) => r.body.Swarm?.LocalNodeState === 'active')
      .catch(() => false)
  : false;
const swarmMissing =
  engine.missing ?? (swarm ? undefined : 'this engine is not in a swarm; run .ci/setup-docker.sh');
const work = mkdtempSync(join(tmpdir(), 'microscaler-claim-'));
const children: ChildProcess[] = [];
const instances: string[] = [];
const configs: string[] = [];
const claims: Claim[] = [];
/** Short, so that expiry is quick to see; each call is bounded by ttl/3 in Leadership, not here. */
const TTL = 1500;
const signal = () => AbortSignal.timeout(10_000);

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  await Promise.all(claims.map((c) => c.close()));
  if (!engine.api) return;
  const api = engine.api;
  for (const name of instances) {
    await removeContainers(api, name);
    for (const v of await claimVolumes(api, name).catch(() => [])) {
      await api.request('DELETE', `/volumes/${v}`).catch(() => {});
    }
  }
  for (const c of configs) await api.request('DELETE', `/configs/${c}`).catch(() => {});
  api.close();
});

async function claimVolumes(api: DockerApi, instance: string): Promise<string[]> {
  const { body } = await api.request<{ Volumes: { Name: string }[] | null }>('GET', '/volumes', {
    query: { filters: filters({ label: [`${CLAIM_LABEL}=${instance}`] }) },
  });
  return (body.Volumes ?? []).map((v) => v.Name).sort();
}

describe('docker claim (labelled volumes)', skipUnless(engine), () => {
  test('one holder; a kill -9 holder expires after the ttl; release removes every volume', async () => {
    const api = needApi(engine);
    const instance = uniqueName('claim');
    instances.push(instance);
    await expectClaimSemantics(
      TTL,
      claims,
      (id) => new DockerClaim({ api: new DockerApi(api.endpoint), instance, ttlMs: TTL, id }),
      async () => assert.deepEqual(await claimVolumes(api, instance), [], 'claim volumes left behind'),
    );
  });

  test('two instances racing for the same generation: exactly one wins each round', async () => {
    const api = needApi(engine);
    const instance = uniqueName('claim-race');
    instances.push(instance);
    const racers = Array.from(
      { length: 4 },
      (_, i) => new DockerClaim({ api: new DockerApi(api.endpoint), instance, ttlMs: TTL, id: `racer-${i}` }),
    );
    claims.push(...racers);
    const won = await Promise.all(racers.map((r) => r.acquire(signal())));
    assert.equal(won.filter(Boolean).length, 1, `winners: ${won}`);
    const holder = racers[won.indexOf(true)] as DockerClaim;
    await holder.release();
    assert.deepEqual(await claimVolumes(api, instance), []);
  });
});

describe('swarm claim (config object, compare-and-set)', {
  skip: swarmMissing && process.env.CI !== 'true' ? swarmMissing : false,
}, () => {
  test('one holder; a kill -9 holder expires after the ttl; a release frees it at once', async () => {
    const api = needApi(engine);
    const instance = uniqueName('claim');
    configs.push(configName(instance));
    await expectClaimSemantics(
      TTL,
      claims,
      (id) => new SwarmClaim({ api: new DockerApi(api.endpoint), instance, ttlMs: TTL, id }),
      async () => {
        const { body } = await api.request<{ Spec: { Labels: Record<string, string> } }>(
          'GET',
          `/configs/${configName(instance)}`,
        );
        assert.equal(body.Spec.Labels['microscaler.claim.holder'], '', 'released: no holder');
      },
    );
  });

  test('racing creators and writers: exactly one wins', async () => {
    const api = needApi(engine);
    const instance = uniqueName('claim-race');
    configs.push(configName(instance));
    const racers = Array.from(
      { length: 4 },
      (_, i) => new SwarmClaim({ api: new DockerApi(api.endpoint), instance, ttlMs: TTL, id: `racer-${i}` }),
    );
    claims.push(...racers);
    const created = await Promise.all(racers.map((r) => r.acquire(signal())));
    assert.equal(created.filter(Boolean).length, 1, `created: ${created}`);
    await (racers[created.indexOf(true)] as SwarmClaim).release();
    // Free now: all race to write the same version; the managers accept one.
    const written = await Promise.all(racers.map((r) => r.acquire(signal())));
    assert.equal(written.filter(Boolean).length, 1, `written: ${written}`);
  });

  test('a config of that name that is not a claim is refused, never taken over', async () => {
    const api = needApi(engine);
    const instance = uniqueName('claim-foreign');
    configs.push(configName(instance));
    await api.request('POST', '/configs/create', {
      body: { Name: configName(instance), Labels: {}, Data: Buffer.from('theirs').toString('base64') },
    });
    const claim = new SwarmClaim({ api: new DockerApi(api.endpoint), instance, ttlMs: TTL });
    claims.push(claim);
    await assert.rejects(claim.acquire(signal()), /is not microscaler's claim/);
  });
});

interface Cli {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly url: Promise<string>;
  stderr(): string;
}

function runCli(config: string): Cli {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'run', '-c', config, '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  const url = new Promise<string>((resolve) => {
    child.stdout?.on('data', (d) => {
      stdout += d;
      const m = /api listening on (\S+)/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    });
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, url, stderr: () => stderr };
}

describe('two runs of one instance on docker', skipUnless(engine), () => {
  test('the second exits 2 naming the holder; after kill -9 of the first, a restart takes over', async () => {
    const api = needApi(engine);
    const name = uniqueName('claim-cli');
    instances.push(name);
    const config = join(work, `${name}.yaml`);
    // Two services whose demands differ between runs would fight; one is enough to see who acts.
    writeFileSync(
      config,
      `
capacity: { replicas: 3 }
interval: 100ms
scheduler: { type: docker, network: none }
services:
  web:
    run: { image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }
    demand: { rule: { type: fixed, replicas: 2 } }
`,
    );
    const first = runCli(config);
    const url = await first.url;
    await waitFor(
      'the first run to start 2 replicas',
      async () => (await containersOf(api, name)).filter((c) => c.State === 'running').length === 2,
      60_000,
    );
    const state = (await (await fetch(`${url}/api/state`)).json()) as {
      claim?: { holder: string; self: boolean; where: string };
    };
    assert.equal(state.claim?.self, true, JSON.stringify(state.claim));
    assert.match(state.claim?.holder ?? '', new RegExp(`:${first.child.pid}:`));
    assert.match(state.claim?.where ?? '', /docker volumes microscaler-claim\./);

    const second = runCli(config);
    assert.equal(await second.exited, 2, second.stderr());
    assert.match(
      second.stderr(),
      new RegExp(`instance "${name}" is already running: held by \\S+:${first.child.pid}:`),
    );
    assert.match(second.stderr(), /ha:/);
    assert.match(second.stderr(), /name:/);
    assert.equal((await containersOf(api, name)).length, 2, 'the second touched nothing');

    first.child.kill('SIGKILL');
    await first.exited;
    const third = runCli(config);
    const url3 = await third.url; // it listens only once it holds the claim
    const s3 = (await (await fetch(`${url3}/api/state`)).json()) as {
      claim?: { holder: string; self: boolean };
    };
    assert.equal(s3.claim?.self, true);
    assert.match(s3.claim?.holder ?? '', new RegExp(`:${third.child.pid}:`));
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0, third.stderr());
    assert.deepEqual(await claimVolumes(api, name), [], 'the claim is released on exit');
  });
});

describe('two instances of one name on swarm', {
  skip: swarmMissing && process.env.CI !== 'true' ? swarmMissing : false,
}, () => {
  test('the second refuses to start, naming the holder and the swarm config', async () => {
    const api = needApi(engine);
    const name = uniqueName('claim-swarm');
    configs.push(configName(name));
    const config = parseConfig(
      `
name: ${name}
capacity: { replicas: 2 }
scheduler: { type: swarm }
services:
  web:
    run: { image: ${TEST_IMAGE}, command: [sleep, "3600"], pull: never }
    demand: { rule: { type: fixed, replicas: 0 } }
`,
      { file: 'test.yaml', sourceSchemas, schedulerSchemas },
    );
    const start = () =>
      startInstance({ config, clock: systemClock, logger: { log() {} }, baseDir: work, env: process.env });
    const first = await start();
    try {
      await assert.rejects(start(), (error: unknown) => {
        assert.ok(error instanceof ClaimedError, String(error));
        assert.match(error.message, new RegExp(`already running: held by ${first.leadership?.id}`));
        assert.match(error.message, new RegExp(`swarm config ${configName(name)}`));
        return true;
      });
    } finally {
      await first.close({ drain: false });
      await api.request('DELETE', `/services/${swarmServiceName(name, 'web')}`).catch(() => {});
    }
  });
});
