import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Clock, Source } from '../core/ports.js';
import type { SourceContext } from '../core/registry.js';
import type { SourceResult } from '../core/types.js';
import { readLimited } from '../infra/read-limited.js';

export const traceSchema = z.strictObject({
  /** The CSV file; a relative path resolves against the config file's folder. */
  file: z.string().min(1, 'must not be empty'),
  /** Which service column to replay; default: the service this source feeds. */
  service: z.string().min(1, 'must not be empty').optional(),
  /** Trace seconds per real second: 60 replays a trace minute each second. */
  timeScale: z.number().finite().positive('must be > 0').default(1),
  /** Start again from the beginning at the end; otherwise reads fail with "trace ended". */
  loop: z.boolean().default(true),
});
export type TraceSettings = z.output<typeof traceSchema>;

/** One service's column: demand[i] arrived during [t[i], t[i] + step). */
export interface TraceSeries {
  readonly t: readonly number[];
  readonly demand: readonly number[];
}

/** A parsed trace file. Every service has a row for every interval, so all `t` arrays are equal. */
export interface Trace {
  /** Seconds between intervals. */
  readonly step: number;
  /** t_seconds of the first interval. */
  readonly start: number;
  readonly services: ReadonlyMap<string, TraceSeries>;
}

const HEADER = 't_seconds,service,demand';

/**
 * Parses a trace CSV (`t_seconds,service,demand`, see ../shared/traces/README.md). Rows must be sorted by
 * time, evenly spaced, with one row per service per interval. Throws an Error naming the first bad line.
 */
export function parseTrace(text: string): Trace {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((f) => f.trim());
  if (header.join(',') !== HEADER) {
    throw new Error(`line 1: expected the header "${HEADER}", got "${lines[0] ?? ''}"`);
  }

  const series = new Map<string, { t: number[]; demand: number[] }>();
  const times: number[] = []; // distinct t_seconds, in order
  const firstLine: number[] = []; // the line where each time first appears
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const n = i + 1;
    const fields = line.split(',');
    if (fields.length !== 3)
      throw new Error(`line ${n}: expected 3 fields (${HEADER}), got ${fields.length}`);
    const [tText = '', serviceText = '', demandText = ''] = fields;
    const t = toNumber(tText);
    const service = serviceText.trim();
    const demand = toNumber(demandText);
    if (t === undefined || t < 0) throw new Error(`line ${n}: t_seconds "${tText}" is not a number ≥ 0`);
    if (service === '') throw new Error(`line ${n}: service is empty`);
    if (demand === undefined || demand < 0)
      throw new Error(`line ${n}: demand "${demandText}" is not a number ≥ 0`);

    const last = times.at(-1);
    if (last === undefined || t > last) {
      times.push(t);
      firstLine.push(n);
    } else if (t < last) {
      throw new Error(`line ${n}: t_seconds ${t} comes after ${last} (rows must be sorted by time)`);
    }
    let s = series.get(service);
    if (!s) {
      s = { t: [], demand: [] };
      series.set(service, s);
    }
    if (s.t.at(-1) === t)
      throw new Error(`line ${n}: a second row for service "${service}" at t_seconds ${t}`);
    s.t.push(t);
    s.demand.push(demand);
  }

  const [start, second] = times;
  if (start === undefined) throw new Error('no data rows after the header');
  if (second === undefined)
    throw new Error('only one interval: the step is the gap between the first two times');
  const step = second - start;
  for (let k = 1; k < times.length; k++) {
    const gap = (times[k] ?? 0) - (times[k - 1] ?? 0);
    if (Math.abs(gap - step) > 1e-9 * Math.max(1, step)) {
      throw new Error(
        `line ${firstLine[k]}: t_seconds jumps from ${times[k - 1]} to ${times[k]}, expected every ${step} s`,
      );
    }
  }
  for (const [service, s] of series) {
    if (s.t.length === times.length) continue;
    // The first interval without a row for this service (its t values are a subsequence of times).
    const k = s.t.findIndex((t, j) => t !== times[j]);
    const missing = k === -1 ? s.t.length : k;
    throw new Error(
      `service "${service}" has no row at t_seconds ${times[missing]} (line ${firstLine[missing]}); every service needs a row for every interval`,
    );
  }
  return { step, start, services: series };
}

function toNumber(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const x = Number(s);
  return Number.isFinite(x) ? x : undefined;
}

/**
 * The largest trace file read: 64 MiB, 50 times the largest trace in ../shared/traces. A bigger file (or
 * /dev/zero) is refused after that many bytes, as configs are refused past theirs.
 */
export const MAX_TRACE_BYTES = 64 * 1024 * 1024;

/** Reads and parses a trace file; the error names the file and, for bad content, the line. */
export async function loadTrace(path: string, limit = MAX_TRACE_BYTES): Promise<Trace> {
  let text: string;
  try {
    text = await readLimited(path, limit);
  } catch (error) {
    throw new Error(`cannot read ${path}: ${errorMessage(error)}`);
  }
  try {
    return parseTrace(text);
  } catch (error) {
    throw new Error(`${path}: ${errorMessage(error)}`);
  }
}

export interface ReplayOptions {
  readonly service: string;
  readonly timeScale: number;
  readonly loop: boolean;
}

/**
 * Replays one service of a trace against the clock, from the first interval at the moment it is created.
 * value = the interval's demand; rate = arrivals per real second (demand / step × timeScale).
 */
export class TraceSource implements Source {
  private readonly series: TraceSeries;
  private readonly step: number;
  private readonly options: ReplayOptions;
  private readonly clock: Clock;
  private readonly createdAt: number;

  /** Throws a RangeError if the trace has no such service. */
  constructor(trace: Trace, options: ReplayOptions, clock: Clock) {
    const series = trace.services.get(options.service);
    if (!series) {
      throw new RangeError(
        `unknown service "${options.service}" (services: ${[...trace.services.keys()].join(', ')})`,
      );
    }
    this.series = series;
    this.step = trace.step;
    this.options = options;
    this.clock = clock;
    this.createdAt = clock.now();
  }

  /**
   * Loads the file once, so a missing file, a malformed row or an unknown service fails here as a
   * ConfigError (what `validate` reports), never later in read().
   */
  static async create(settings: TraceSettings, ctx: SourceContext): Promise<TraceSource> {
    const path = resolve(ctx.baseDir, settings.file);
    let trace: Trace;
    try {
      trace = await loadTrace(path);
    } catch (error) {
      throw new ConfigError([`source.file: ${errorMessage(error)}`]);
    }
    let service = settings.service ?? ctx.service;
    const names = [...trace.services.keys()];
    // A one-service file is unambiguous: replay it whatever its column is called, unless a service was named.
    if (settings.service === undefined && !trace.services.has(service) && names.length === 1 && names[0]) {
      service = names[0];
    }
    if (!trace.services.has(service)) {
      throw new ConfigError([
        `source.service: unknown service "${service}" in ${path} (services: ${names.join(', ')})`,
      ]);
    }
    return new TraceSource(trace, { service, timeScale: settings.timeScale, loop: settings.loop }, ctx.clock);
  }

  async read(_signal?: AbortSignal): Promise<SourceResult> {
    const now = this.clock.now();
    const { timeScale, loop } = this.options;
    const traceSeconds = (Math.max(0, now - this.createdAt) / 1000) * timeScale;
    const count = this.series.demand.length;
    // The epsilon keeps exact interval boundaries from landing one interval early through rounding.
    let index = Math.floor(traceSeconds / this.step + 1e-9);
    if (index >= count) {
      if (!loop) return { ok: false, error: `trace ended (${count * this.step} s of trace time)` };
      index %= count;
    }
    const demand = this.series.demand[index] ?? 0;
    return { ok: true, reading: { value: demand, rate: (demand / this.step) * timeScale, at: now } };
  }

  async close(): Promise<void> {}
}
