/** The one order every decision honours services in: priority first (1 = highest), then name. */

/** Priority first, then name in code-point order (the same everywhere, unlike localeCompare). */
export function byPriorityThenName(
  a: { readonly priority: number; readonly name: string },
  b: { readonly priority: number; readonly name: string },
): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
