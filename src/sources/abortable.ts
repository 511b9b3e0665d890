import { setMaxListeners } from 'node:events';
import { abortable as waitAbortable } from '../core/abortable.js';

/** Why a read ended early; the message is what the source reports. */
export class ReadAborted extends Error {
  override readonly name = 'ReadAborted';
}

/**
 * A signal that aborts when `signal` does or after timeoutMs, whichever comes first, and a function that
 * releases its timer and listener. (AbortSignal.any and AbortSignal.timeout would leave the timer running
 * for every read until it fires.)
 */
export function withTimeout(
  signal: AbortSignal,
  timeoutMs: number,
): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(new ReadAborted('aborted'));
  // The controller gives every read of a tick the same signal: one listener per source is expected.
  setMaxListeners(0, signal);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new ReadAborted(`no answer within ${timeoutMs}ms`)),
    timeoutMs,
  );
  timer.unref();
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Settles with `promise`, or rejects as soon as `signal` aborts. Client calls that take no signal go
 * through this so a read never outlives its signal; their late answer is dropped.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return waitAbortable(promise, signal, () => new ReadAborted('aborted'));
}
