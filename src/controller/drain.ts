// Drain, on exit: scales every service to zero (and removed services' replicas, unless kept) and waits until
// nothing runs, starts or stops. The controller has stopped planning by then.
import type { Clock, Scheduler } from '../core/ports.js';
import { NONE_OBSERVED, type Observed, type ServicePolicy } from '../core/types.js';
import { EXIT } from './reasons.js';
import { removedServices } from './removed.js';
import type { ScaleExecutor } from './scale-executor.js';
import { occupying } from './snapshot.js';
import { within } from './within.js';

export interface DrainOptions {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly executor: ScaleExecutor;
  /** The configured services, in config order. */
  readonly services: readonly ServicePolicy[];
  readonly names: ReadonlySet<string>;
  /** What the back-end last reported, read as each call is made. */
  readonly observed: () => ReadonlyMap<string, Observed>;
  readonly freezing: boolean;
  readonly keepRemoved: boolean;
  readonly observeTimeoutMs: number;
}

/** Whether everything stopped within timeoutMs (replicas of kept removed services are not waited for). */
export async function drainAll(options: DrainOptions, timeoutMs: number): Promise<boolean> {
  const { scheduler, clock, executor, names, observeTimeoutMs } = options;
  const deadline = clock.now() + timeoutMs;
  const frozen = options.freezing ? 0 : undefined;
  for (const s of options.services) {
    const o = options.observed().get(s.name) ?? NONE_OBSERVED;
    await executor.call(s.name, 0, EXIT, false, o.running + o.starting, frozen);
  }
  // Replicas of removed services go too, unless the user keeps them: then they are not waited for.
  const keep = options.keepRemoved;
  if (!keep) {
    for (const r of removedServices(options.observed(), names)) {
      if (r.active > 0) await executor.call(r.name, 0, EXIT, false, r.active, frozen);
    }
  }
  const counted = (name: string) => !keep || names.has(name);
  while (clock.now() < deadline) {
    const seen = await within(
      clock,
      scheduler.observe(AbortSignal.timeout(observeTimeoutMs)),
      observeTimeoutMs,
    ).catch(() => undefined);
    const left = seen && [...seen.value].filter(([name]) => counted(name));
    if (left?.every(([, o]) => occupying(o) + (o.frozen ?? 0) === 0)) return true;
    await clock.sleep(50);
  }
  return false;
}
