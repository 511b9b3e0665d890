/**
 * The largest need seen within the last `windowMs`: scale-up follows need at once, scale-down only once
 * need has stayed lower for the whole window. Kept as a deque of (time, need) with strictly decreasing
 * needs, so it holds a handful of samples whatever the tick rate. Immutable: push returns a new window.
 */
export interface NeedWindow {
  readonly times: readonly number[];
  readonly needs: readonly number[];
}

export const EMPTY_WINDOW: NeedWindow = Object.freeze({ times: [], needs: [] });

export function pushNeed(window: NeedWindow, now: number, need: number, windowMs: number): NeedWindow {
  const times: number[] = [];
  const needs: number[] = [];
  const { times: t, needs: n } = window;
  let start = 0;
  // Drop samples that left the window, but keep the newest expired one's successor logic simple:
  // a sample at exactly now - windowMs still counts.
  while (start < t.length && (t[start] as number) < now - windowMs) start++;
  for (let i = start; i < t.length; i++) {
    if ((n[i] as number) > need) {
      times.push(t[i] as number);
      needs.push(n[i] as number);
    }
  }
  times.push(now);
  needs.push(need);
  return { times, needs };
}

/** The stabilised need: the window's maximum (its first sample). */
export function windowMax(window: NeedWindow): number {
  return window.needs[0] ?? 0;
}
