// A bounded wait: a promise's value, or nothing once a time has passed (the work is left to run).
import type { Clock } from '../core/ports.js';

/**
 * `work`'s value, or undefined when it has not settled within `ms` (it is then left to run; the caller
 * decides what its late outcome means). Rejects as `work` does.
 */
export async function within<T>(
  clock: Clock,
  work: Promise<T>,
  ms: number,
): Promise<{ value: T } | undefined> {
  const started = clock.now();
  const wrapped = work.then((value) => ({ value }));
  // Most calls settle at once (in-memory back-ends, cached state): only a call still running after this
  // turn of the event loop needs a timer.
  const quick = await Promise.race([
    wrapped,
    new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined))),
  ]);
  if (quick) return quick;
  const timer = new AbortController();
  const left = Math.max(0, ms - Math.max(0, clock.now() - started));
  try {
    return await Promise.race([wrapped, clock.sleep(left, timer.signal).then(() => undefined)]);
  } finally {
    timer.abort();
  }
}
