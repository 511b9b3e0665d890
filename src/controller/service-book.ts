// The service book: the configured services with the changes made at run time (min, max, priority, pause),
// and the list the planner sees. It decides nothing about replicas and tells no one; the controller does.
import type { ServicePolicy } from '../core/types.js';
import { UnknownServiceError } from './errors.js';
import { applyChange, type ServiceChange } from './service-change.js';

export class ServiceBook {
  /** The names in the config: anything else the back-end reports is a removed service. */
  readonly names: ReadonlySet<string>;
  /** The configured policies with the changes made at run time, in config order. */
  private policies: ServicePolicy[];
  /** What the planner sees: policies, with paused services pinned (min = max) to their frozen count. */
  private pinned: readonly ServicePolicy[];
  /** Paused services and the replica count each is frozen at. */
  private readonly paused = new Map<string, number>();

  constructor(services: readonly ServicePolicy[]) {
    this.policies = [...services];
    this.names = new Set(services.map((s) => s.name));
    this.pinned = services;
  }

  /** The policies as changed at run time, in config order (what snapshots show). */
  get all(): readonly ServicePolicy[] {
    return this.policies;
  }

  /**
   * What the planner and admission see. A new array after each change and the same one otherwise: the
   * planner sorts each list once, by its identity.
   */
  get effective(): readonly ServicePolicy[] {
    return this.pinned;
  }

  isPaused(service: string): boolean {
    return this.paused.has(service);
  }

  /** Throws UnknownServiceError for a name that is not configured. */
  check(service: string): void {
    this.indexOf(service);
  }

  /**
   * Applies a change (validated as the config is: ConfigError when not; UnknownServiceError for a name not
   * configured) and returns the policy before and after it.
   */
  update(service: string, change: ServiceChange): { before: ServicePolicy; after: ServicePolicy } {
    const i = this.indexOf(service);
    const before = this.policies[i] as ServicePolicy;
    const after = applyChange(before, change);
    this.policies = this.policies.with(i, after);
    this.refresh();
    return { before, after };
  }

  /** Pins a service at `count` replicas; false if it was already paused (its count stays). */
  pause(service: string, count: number): boolean {
    this.indexOf(service);
    if (this.paused.has(service)) return false;
    this.paused.set(service, count);
    this.refresh();
    return true;
  }

  /** Unpins a service; false if it was not paused. */
  resume(service: string): boolean {
    this.indexOf(service);
    if (!this.paused.delete(service)) return false;
    this.refresh();
    return true;
  }

  private indexOf(service: string): number {
    const i = this.policies.findIndex((s) => s.name === service);
    if (i < 0) throw new UnknownServiceError(service);
    return i;
  }

  private refresh(): void {
    this.pinned = this.policies.map((s) => {
      const frozen = this.paused.get(s.name);
      if (frozen === undefined) return s;
      const count = Math.min(s.max, Math.max(s.min, frozen));
      return { ...s, min: count, max: count };
    });
  }
}
