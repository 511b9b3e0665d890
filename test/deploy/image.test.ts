// The Dockerfile, built from a local Node base (no registry here) and run as a container that scales
// containers through the mounted Docker socket, as a user would run it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
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

const run = promisify(execFile);
const SOCKET = '/var/run/docker.sock';
const BASE = 'microscaler/node-base:local';
const IMAGE = 'microscaler/microscaler:test';

const engine = await findEngine();
const dir = mkdtempSync(join(tmpdir(), 'microscaler-deploy-'));
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  engine.api?.close();
});

describe('the microscaler image', skipUnless(engine), () => {
  test('builds from a local base and, as a non-root container, scales labelled containers through the socket', {
    timeout: 600_000,
  }, async () => {
    const api = needApi(engine);
    assert.ok(existsSync(SOCKET), `${SOCKET} is needed to mount into the container`);
    // Both idempotent and cached: the base is made once, the image's layers rebuild only on change.
    await run('scripts/build-node-base.sh', [BASE], { maxBuffer: 1 << 24 });
    await run('docker', ['build', '-q', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, '.'], {
      maxBuffer: 1 << 24,
      timeout: 500_000,
    });
    const name = uniqueName('deploy');
    const config = join(dir, 'microscaler.yaml');
    writeFileSync(
      config,
      `name: ${name}
capacity: { replicas: 3 }
interval: 100ms
scheduler: { type: docker, network: none }
services:
  batch:
    priority: 2
    run: { image: ${TEST_IMAGE}, command: [sleep, "3600"], stopGrace: 1s, pull: never }
    demand: { rule: { type: remainder } }
`,
    );
    chmodSync(config, 0o644);
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--name',
      `${name}-controller`,
      '--network',
      'none',
      '--group-add',
      String(statSync(SOCKET).gid),
      '-v',
      `${SOCKET}:${SOCKET}`,
      '-v',
      `${config}:/etc/microscaler/microscaler.yaml:ro`,
      IMAGE,
      'run',
      '-c',
      '/etc/microscaler/microscaler.yaml',
    ]);
    const controller = stdout.trim();
    // Runs last (cleanups run in reverse): the killed controller cannot release its name claim (docker volumes).
    cleanup.push(async () => {
      const { body } = await api.request<{ Volumes: { Name: string }[] | null }>('GET', '/volumes', {
        query: { filters: JSON.stringify({ label: [`microscaler.claim=${name}`] }) },
      });
      for (const v of body.Volumes ?? [])
        await api.request('DELETE', `/volumes/${v.Name}`, { query: { force: true } });
    });
    cleanup.push(() => removeContainers(api, name));
    cleanup.push(() => api.request('DELETE', `/containers/${controller}`, { query: { force: true } }));

    const { body } = await api.request<{ Config: { User: string } }>('GET', `/containers/${controller}/json`);
    assert.equal(body.Config.User, '1000:1000', 'runs as a non-root user');
    await waitFor(
      'three running batch containers',
      async () => {
        const rows = await containersOf(api, name, 'batch');
        return rows.length === 3 && rows.every((r) => r.State === 'running');
      },
      60_000,
    ).catch(async (error) => {
      const logs = await run('docker', ['logs', '--tail', '20', controller]).catch(() => ({
        stdout: '',
        stderr: '',
      }));
      throw new Error(`${(error as Error).message}\ncontroller log:\n${logs.stdout}${logs.stderr}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await containersOf(api, name)).length, 3, 'never more than capacity');
  });
});
