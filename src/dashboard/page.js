// @ts-check
// The dashboard's shared parts: its types, the state every part reads, colours, order and small DOM helpers.

/** @typedef {import('../core/types.js').Snapshot} Snapshot */
/** @typedef {import('../core/types.js').ServiceState} ServiceState */
/**
 * What /api/state and the stream's `state` event add to core's ServiceState.
 * @typedef {ServiceState & { paused?: boolean, acceptsDemand?: boolean, override?: { value: number, until: string } }} LiveService
 * @typedef {Omit<Snapshot, 'services'> & { services: LiveService[], leader?: { holder: string | null, self: boolean } }} LiveSnapshot
 * @typedef {{ id: number, kind: string, time: string, service?: string, message: string, reason?: string }} LiveEvent
 * @typedef {{ t: number, capacity: number, services: Map<string, { running: number, need: number }> }} Sample
 */

/** Warm colours for priority 1, cool for 2, greens for 3, greys below. */
const PALETTES = [
  ['#f97316', '#ef4444', '#f59e0b', '#ec4899', '#fb7185'],
  ['#3b82f6', '#06b6d4', '#6366f1', '#0ea5e9', '#8b5cf6'],
  ['#22c55e', '#84cc16', '#10b981', '#14b8a6'],
  ['#94a3b8', '#64748b', '#cbd5e1'],
];

/** @param {string} id */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export const state = {
  /** @type {LiveSnapshot | undefined} */
  snapshot: undefined,
  /** @type {Sample[]} */
  samples: [],
  /** @type {LiveEvent[]} newest first */
  events: [],
  /** Ids seen (`boot.n`), so that a replayed history is not shown twice. */
  seen: new Set(),
  /** @type {Map<string, string>} the latest reason shown per service */
  reasons: new Map(),
  /** @type {Map<string, string>} colour per service, fixed once given */
  colors: new Map(),
  lastMessageAt: 0,
};

/** @param {LiveService} s */
export function colorOf(s) {
  let color = state.colors.get(s.name);
  if (!color) {
    const palette = /** @type {string[]} */ (PALETTES[Math.min(s.priority, PALETTES.length) - 1]);
    const taken = [...state.colors.values()];
    color =
      palette.find((c) => !taken.includes(c)) ?? palette[state.colors.size % palette.length] ?? '#94a3b8';
    state.colors.set(s.name, color);
  }
  return color;
}

/** Stack order: priority 1 at the bottom, then by name. @param {readonly LiveService[]} services */
export function stackOrder(services) {
  return [...services].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1));
}

/** @param {number | null} v */
export function num(v) {
  if (v === null || v === undefined) return '–';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** @param {number} v */
export function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
