/**
 * The largest demand believed: no queue length, rate or query result a scaler acts on comes near it, so a
 * larger value is garbage (an overflow, a wrong column, a timestamp). It is the push API's bound too.
 */
export const MAX_DEMAND = 1e12;

/**
 * A demand value from what a server returned: a finite number ≥ 0, or a plain decimal string (SQL numeric,
 * Prometheus sample values and many JSON APIs send numbers as strings). Anything else throws, with `what`
 * saying where the value came from, so garbage is reported instead of being read as 0.
 */
export function demandValue(raw: unknown, what: string): number {
  let value: number | undefined;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'bigint') value = Number(raw);
  else if (typeof raw === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw))
    value = Number(raw);
  if (value === undefined) throw new Error(`${what} is ${describeRaw(raw)}, not a number`);
  if (!Number.isFinite(value)) throw new Error(`${what} is ${describeRaw(raw)}, not a finite number`);
  if (value < 0) throw new Error(`${what} is ${value}; demand cannot be negative`);
  if (value > MAX_DEMAND)
    throw new Error(`${what} is ${value}, beyond any real demand (at most ${MAX_DEMAND})`);
  return value;
}

export function describeRaw(raw: unknown): string {
  if (raw === undefined) return 'missing';
  if (raw === null) return 'null';
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  if (Array.isArray(raw)) return `an array of ${raw.length}`;
  if (typeof raw === 'object') return 'an object';
  return String(raw);
}
