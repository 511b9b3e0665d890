import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../core/ports.js';

/** A clock that can also tell the wall-clock time, for timestamps shown to people. */
export interface WallClock extends Clock {
  /** Wall-clock ms since the epoch (Date.now()): may jump when the system time is set. */
  wall(): number;
}

/**
 * The wall clock at start-up plus the time elapsed since, read from the monotonic clock. Every duration in
 * microscaler is a difference of now() readings (scale-down windows, backoff, source ages, holds, deadlines),
 * so now() must never jump: Date.now() does when the system time is set (NTP step, a VM resumed, an
 * operator), and a jump forward would end every window at once while a jump back would stall them for as
 * long as it was. performance.now() only moves forward, at the rate of real time.
 */
export function monotonicNow(origin = Date.now() - performance.now()): () => number {
  return () => origin + performance.now();
}

/**
 * now(): monotonic ms (see monotonicNow), close to the wall clock; wall(): Date.now(), for timestamps shown
 * to people; sleep resolves early (without throwing) when the signal aborts. Timers are monotonic already.
 */
export const systemClock: WallClock = {
  now: monotonicNow(),
  wall: () => Date.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, { signal });
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
  },
};
