/**
 * The largest need seen within the last `windowMs`: scale-up follows need at once, scale-down only once
 * need has stayed lower for the whole window. Kept as a deque of (time, need) pairs, flattened into one
 * array, with strictly decreasing needs, so it holds a handful of samples whatever the tick rate.
 *
 * The newest sample's time is kept apart from the array (the caller stores it as the window's `tail`), so a
 * need that holds steady, the common case, changes no array at all. Arrays are never mutated.
 */
export type NeedWindow = readonly number[];

export const EMPTY_WINDOW: NeedWindow = Object.freeze([]);

/** Adds a sample at `now` to a window whose newest sample was taken at `tail`; the new tail is `now`. */
export function pushNeed(
  window: NeedWindow,
  tail: number,
  now: number,
  need: number,
  windowMs: number,
): NeedWindow {
  const k = window.length;
  const oldest = k === 2 ? tail : (window[0] as number);
  // The same need as the newest sample, and nothing to expire: only the tail time moves.
  if (k >= 2 && window[k - 1] === need && (k === 2 || oldest >= now - windowMs)) return window;

  const time = (i: number) => (i === k - 2 ? tail : (window[i] as number));
  // Samples that left the window go (one at exactly now - windowMs still counts); so does every sample
  // not above the new need, which outlives them and is at least as large.
  let start = 0;
  while (start < k && time(start) < now - windowMs) start += 2;
  let end = start;
  while (end < k && (window[end + 1] as number) > need) end += 2;
  const out = new Array<number>(end - start + 2);
  for (let i = start; i < end; i += 2) {
    out[i - start] = time(i);
    out[i - start + 1] = window[i + 1] as number;
  }
  out[end - start] = now;
  out[end - start + 1] = need;
  return out;
}

/** The stabilised need: the window's maximum (its first sample). */
export function windowMax(window: NeedWindow): number {
  return window[1] ?? 0;
}
