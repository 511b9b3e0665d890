// The built-in demo: Force12's original show, on real replicas, with no server to set up.
import { parseConfig } from '../config/load.js';
import type { Config } from '../core/types.js';
import { schedulerSchemas } from '../schedulers/registry.js';
import { sourceSchemas } from '../sources/registry.js';

export interface DemoOptions {
  readonly scheduler: string;
  readonly stateDir: string;
  readonly seed: number;
}

/**
 * Capacity 20. `web` (priority 1) follows a random walk of demand: 10 units per replica, a step of up to
 * 30 units every second, so its need moves between 1 and 19 replicas. `batch` (priority 2) takes whatever web
 * leaves. Each replica is a real `sleep` process.
 */
export function demoConfig(options: DemoOptions): Config {
  const yaml = `
name: demo
capacity: { replicas: 20 }
interval: 100ms
scheduler: { type: ${options.scheduler}, stateDir: ${JSON.stringify(options.stateDir)} }
services:
  web:
    priority: 1
    min: 1
    max: 19
    scaleDownWindow: 1s
    run: { command: [sleep, "3600"], stopGrace: 2s }
    demand:
      source: { type: random, seed: ${options.seed}, min: 0, max: 190, step: 30, every: 1s, start: 40 }
      rule: { type: target, perReplica: 10 }
  batch:
    priority: 2
    max: 20
    run: { command: [sleep, "3600"], stopGrace: 2s }
    demand: { rule: { type: remainder } }
`;
  return parseConfig(yaml, { file: 'demo.yaml', sourceSchemas, schedulerSchemas });
}
