// Pull policies against a real local registry (127.0.0.1:5000, started by .ci/setup-docker.sh): the test
// image is pushed under a unique tag, so each run starts from an image the engine does not have.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { findEngine, needApi, TEST_IMAGE, uniqueName } from '../../../test/fixtures/docker/engine.js';
import { type DockerApi, DockerApiError, filters } from '../../infra/docker-api.js';
import { Images, pullQuery } from './images.js';

const REGISTRY = '127.0.0.1:5000';
const engine = await findEngine();
const registryUp = await fetch(`http://${REGISTRY}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
  (r) => r.ok,
  () => false,
);
const missing =
  engine.missing ?? (registryUp ? undefined : `no registry on ${REGISTRY}; run .ci/setup-docker.sh`);
const ref = `${REGISTRY}/microscaler-test/busybox:${uniqueName('t')}`;
const logger = { log() {} };

test('pullQuery splits a reference into image and tag, defaulting to latest (never every tag)', () => {
  assert.deepEqual(pullQuery('busybox'), { fromImage: 'busybox', tag: 'latest' });
  assert.deepEqual(pullQuery('127.0.0.1:5000/a/b:1.2'), { fromImage: '127.0.0.1:5000/a/b', tag: '1.2' });
  assert.deepEqual(pullQuery('127.0.0.1:5000/a/b'), { fromImage: '127.0.0.1:5000/a/b', tag: 'latest' });
  assert.deepEqual(pullQuery('a/b@sha256:abc'), { fromImage: 'a/b@sha256:abc' });
});

async function present(api: DockerApi, image: string): Promise<boolean> {
  try {
    await api.request('GET', `/images/${image}/json`);
    return true;
  } catch (error) {
    if (error instanceof DockerApiError && error.status === 404) return false;
    throw error;
  }
}

function untag(image: string): void {
  execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
}

/** Runs fn and returns how many times the engine pulled `image` meanwhile (its own image events). */
async function pullsDuring(api: DockerApi, image: string, fn: () => Promise<void>): Promise<number> {
  const since = Math.floor(Date.now() / 1000) - 1;
  await fn();
  const until = Math.ceil(Date.now() / 1000) + 1;
  let pulls = 0;
  await api.stream(
    'GET',
    '/events',
    (e) => {
      const ev = e as { Action?: string; Actor?: { ID?: string } };
      if (ev.Action === 'pull' && ev.Actor?.ID === image) pulls++;
    },
    { query: { since, until, filters: filters({ type: ['image'] }) }, timeoutMs: 10_000 },
  );
  return pulls;
}

describe('image pull policies, from a local registry', {
  skip: missing && process.env.CI !== 'true' ? missing : false,
}, () => {
  before(() => {
    if (missing) return;
    execFileSync('docker', ['tag', TEST_IMAGE, ref]);
    execFileSync('docker', ['push', ref], { stdio: 'ignore' });
    untag(ref);
  });
  after(() => {
    try {
      untag(ref);
    } catch {
      // not there
    }
    engine.api?.close();
  });

  test('missing: an absent image is pulled at start-up, before any scale-up needs it', async () => {
    if (missing) assert.fail(missing);
    const api = needApi(engine);
    assert.equal(await present(api, ref), false);
    const images = new Images(api, logger, [{ service: 'web', image: ref, pull: 'missing' }]);
    assert.equal(await pullsDuring(api, ref, () => images.prepare()), 1);
    assert.equal(await present(api, ref), true);
    images.ready('web'); // does not throw
  });

  test('missing: a present image is not pulled again; always: it is', async () => {
    const api = needApi(engine);
    assert.equal(await present(api, ref), true, 'left by the previous test');
    const lazy = new Images(api, logger, [{ service: 'web', image: ref, pull: 'missing' }]);
    assert.equal(await pullsDuring(api, ref, () => lazy.prepare()), 0);
    const eager = new Images(api, logger, [{ service: 'web', image: ref, pull: 'always' }]);
    assert.equal(await pullsDuring(api, ref, () => eager.prepare()), 1);
    eager.ready('web');
  });

  test('never: a present image is used, an absent one is refused without a pull', async () => {
    const api = needApi(engine);
    const used = new Images(api, logger, [{ service: 'web', image: ref, pull: 'never' }]);
    assert.equal(await pullsDuring(api, ref, () => used.prepare()), 0);
    used.ready('web');
    untag(ref);
    const refused = new Images(api, logger, [{ service: 'web', image: ref, pull: 'never' }]);
    assert.equal(await pullsDuring(api, ref, () => refused.prepare()), 0);
    assert.throws(() => refused.ready('web'), /pull policy is "never"/);
  });

  test('a pull that fails is reported with the image and the reason', async () => {
    const api = needApi(engine);
    const unreachable = `127.0.0.1:5999/microscaler-test/busybox:${uniqueName('t')}`;
    const logs: string[] = [];
    const images = new Images(api, { log: (level, message) => logs.push(`${level} ${message}`) }, [
      { service: 'web', image: unreachable, pull: 'missing' },
    ]);
    await images.prepare();
    assert.throws(
      () => images.ready('web'),
      (error: Error) =>
        error.message.startsWith(`image "${unreachable}" of service web is not available: pull failed: `) &&
        /connection refused/.test(error.message),
    );
    assert.ok(logs.some((l) => l.startsWith(`error image ${unreachable}: pull failed`)));
  });
});
