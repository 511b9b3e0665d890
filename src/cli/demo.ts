// The built-in demo: Force12's original show, on real replicas, with no server to set up.
import { parseConfig } from '../config/load.js';
import { errorMessage } from '../core/errors.js';
import type { Config } from '../core/types.js';
import { DockerApi, DockerApiError } from '../infra/docker-api.js';
import { freezingSchedulers, resourceSchedulers, schedulerSchemas } from '../schedulers/registry.js';
import { sourceSchemas } from '../sources/registry.js';

/** What `demo --scheduler docker` runs unless --image says otherwise: scripts/build-test-image.sh builds it. */
export const DEMO_IMAGE = 'microscaler/busybox:test';

export interface DemoOptions {
  /** `process` or `docker`. */
  readonly scheduler: string;
  /** The process back-end's private state folder. */
  readonly stateDir: string;
  readonly seed: number;
  /** For docker: the image every replica runs (it needs `sleep`). */
  readonly image?: string;
}

/**
 * Capacity 20. `web` (priority 1) follows a random walk of demand: 10 units per replica, a step of up to
 * 30 units every second, so its need moves between 1 and 19 replicas, and keeps 3 frozen replicas warm
 * (thawed first when it grows). `batch` (priority 2) takes whatever web leaves; what web takes from it is
 * frozen (`preempt: freeze`) and thawed when web gives it back. Each replica is a real `sleep`: a process,
 * or a container of `image` (never pulled: the demo needs no registry).
 */
export function demoConfig(options: DemoOptions): Config {
  const docker = options.scheduler === 'docker';
  const scheduler = docker
    ? '{ type: docker }'
    : `{ type: ${options.scheduler}, stateDir: ${JSON.stringify(options.stateDir)} }`;
  const run = docker
    ? `{ image: ${JSON.stringify(options.image ?? DEMO_IMAGE)}, command: [sleep, "3600"], stopGrace: 2s, pull: never }`
    : '{ command: [sleep, "3600"], stopGrace: 2s }';
  const yaml = `
name: demo
capacity: { replicas: 20 }
interval: 100ms
scheduler: ${scheduler}
services:
  web:
    priority: 1
    min: 1
    max: 19
    warm: 3
    scaleDownWindow: 1s
    run: ${run}
    demand:
      source: { type: random, seed: ${options.seed}, min: 0, max: 190, step: 30, every: 1s, start: 40 }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    max: 20
    preempt: freeze
    run: ${run}
    demand: { rule: { type: remainder } }
`;
  return parseConfig(yaml, {
    file: 'demo.yaml',
    sourceSchemas,
    schedulerSchemas,
    freezingSchedulers,
    resourceSchedulers,
  });
}

/**
 * Undefined when the docker engine answers and holds the image; otherwise what is wrong and how to fix it.
 * The demo never pulls, so a missing image would otherwise only show as failed scale-ups.
 */
export async function demoImageProblem(
  image: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  let api: DockerApi;
  try {
    api = DockerApi.fromEnv(env);
  } catch (error) {
    return errorMessage(error);
  }
  try {
    await api.request('GET', `/images/${encodeURI(image)}/json`, { timeoutMs: 10_000 });
    return undefined;
  } catch (error) {
    if (error instanceof DockerApiError && error.status === 404) {
      return image === DEMO_IMAGE
        ? `the image ${image} is not on the docker engine; build it with scripts/build-test-image.sh (it needs busybox-static: apt-get install busybox-static), or pass --image IMAGE with an image that has sleep`
        : `the image ${image} is not on the docker engine (the demo never pulls); pull or build it first`;
    }
    return errorMessage(error);
  } finally {
    api.close();
  }
}
