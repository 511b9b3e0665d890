// Durations and memory sizes as people write them in config files.

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
// One `<number><unit>` part; a duration is one or more of them ("1.5s", "1m30s"), each unit at most once and
// largest first, so that a typo like `1m1m` (or `30s1m`) is refused rather than summed.
const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/y;

/**
 * Milliseconds in a duration such as `100ms`, `2s`, `1.5s`, `5m`, `1h` or `1m30s` (units ms, s, m, h;
 * combined, each unit once and largest first).
 * A bare number is refused, because `interval: 100` could mean ms or s; only `0` (or `"0"`) is accepted
 * without a unit, since zero is zero in every unit. Negative durations are refused.
 * Throws a RangeError that says what is accepted.
 */
export function parseDuration(text: string | number): number {
  if (text === 0 || (typeof text === 'string' && text.trim() === '0')) return 0;
  if (typeof text === 'number') {
    throw new RangeError(`invalid duration ${text}: add a unit (ms, s, m or h), like 100ms or 2s`);
  }
  const source = text.trim();
  let ms = 0;
  let at = 0;
  let previousUnit = Number.POSITIVE_INFINITY;
  let ordered = true;
  while (at < source.length) {
    DURATION_PART.lastIndex = at;
    const match = DURATION_PART.exec(source);
    if (!match) break;
    const unit = DURATION_UNITS[match[2] as string] as number;
    if (unit >= previousUnit) ordered = false;
    previousUnit = unit;
    ms += Number(match[1]) * unit;
    at = DURATION_PART.lastIndex;
  }
  if (source === '' || at !== source.length || !Number.isFinite(ms)) {
    throw new RangeError(
      `invalid duration ${JSON.stringify(text)}: use a number and a unit (ms, s, m or h), like 100ms, 1.5s or 5m`,
    );
  }
  if (!ordered) {
    throw new RangeError(
      `invalid duration ${JSON.stringify(text)}: combine units largest first, each once, like 1m30s or 1h5m`,
    );
  }
  return clean(ms);
}

// Kubernetes-style quantities: binary (Ki = 1024) and decimal (k/K = 1000) multipliers.
const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};
const MEMORY = /^(\d+(?:\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?$/;

/**
 * Bytes in a memory size such as `64Mi`, `2Gi`, `512Ki` (powers of 1024), `1G`, `1M`, `500k` (powers of 1000)
 * or `100` (bytes; a YAML number is bytes too). Fractions round up to a whole byte (`1.5Ki` = 1536).
 * Lower-case `m` and `g` are refused: in Kubernetes `m` means milli, in Docker it means MiB.
 * Throws a RangeError that says what is accepted.
 */
export function parseMemory(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isSafeInteger(text) && text >= 0) return text;
    throw new RangeError(
      `invalid memory size ${text}: a plain number is bytes and must be a whole number ≥ 0`,
    );
  }
  const match = MEMORY.exec(text.trim());
  if (!match) {
    throw new RangeError(
      `invalid memory size ${JSON.stringify(text)}: use bytes or a number with a unit (Ki, Mi, Gi, Ti, Pi, k, M, G, T, P), like 64Mi or 2Gi`,
    );
  }
  // BigInt keeps the arithmetic exact: 0.1K is 100 bytes, not 101, and 1Pi is 2^50, not a rounded float.
  const [whole = '', fraction = ''] = (match[1] as string).split('.');
  const divisor = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole + fraction) * BigInt(MEMORY_UNITS[match[2] ?? ''] as number);
  const bytes = (scaled + divisor - 1n) / divisor; // rounded up
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`invalid memory size ${JSON.stringify(text)}: too large`);
  return Number(bytes);
}

/** Drops binary floating-point noise, so that 1.1s is 1100 ms rather than 1100.0000000000002. */
function clean(value: number): number {
  return Number(value.toPrecision(15));
}
