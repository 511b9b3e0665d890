// Waiting on a call that takes no signal, no longer than a signal allows.

/**
 * Settles with `promise`, or rejects as soon as `signal` aborts: with the signal's reason when it is an
 * Error, else `fallback()`. The call itself is not stopped; its late answer (or failure) is dropped.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  fallback: () => Error = () => new Error('aborted'),
): Promise<T> {
  const reason = () => (signal.reason instanceof Error ? signal.reason : fallback());
  if (signal.aborted) {
    promise.catch(() => {}); // its late failure must not become an unhandled rejection
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
