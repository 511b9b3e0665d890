import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../core/ports.js';

/** Wall-clock time in ms; sleep resolves early (without throwing) when the signal aborts. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, { signal });
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
  },
};
