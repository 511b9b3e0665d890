import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { FakeClock } from '../../test/fixtures/sources/fake-clock.js';
import { ConfigError } from '../core/errors.js';
import { loadTrace, parseTrace, type Trace, TraceSource, traceSchema } from './trace.js';

const signal = new AbortController().signal;
const TRACES = fileURLToPath(new URL('../../../shared/traces/', import.meta.url));
const noTraces = existsSync(TRACES)
  ? false
  : `shared traces not found at ${TRACES} (the shared folder sits beside the repo)`;

const SMALL = 't_seconds,service,demand\n0,a,10\n0,b,1\n10,a,20\n10,b,2\n20,a,30\n20,b,3\n';

test('parseTrace: step, start and one series per service', () => {
  const trace = parseTrace(SMALL);
  assert.equal(trace.step, 10);
  assert.equal(trace.start, 0);
  assert.deepEqual([...trace.services.keys()], ['a', 'b']);
  assert.deepEqual(trace.services.get('a'), { t: [0, 10, 20], demand: [10, 20, 30] });
  assert.deepEqual(trace.services.get('b'), { t: [0, 10, 20], demand: [1, 2, 3] });
});

test('parseTrace: tolerates CRLF, a BOM, blank lines, spaces, fractional steps and an offset start', () => {
  const trace = parseTrace(
    '\uFEFFt_seconds,service,demand\r\n100.1, x ,1\r\n\r\n100.2,x,2.5\r\n100.3,x,0\r\n',
  );
  assert.equal(trace.start, 100.1);
  assert.ok(Math.abs(trace.step - 0.1) < 1e-9);
  assert.deepEqual(trace.services.get('x')?.demand, [1, 2.5, 0]);
});

test('parseTrace: malformed files fail with the line number', () => {
  const h = 't_seconds,service,demand\n';
  const cases: [string, RegExp][] = [
    ['', /^line 1: expected the header "t_seconds,service,demand", got ""/],
    ['time,service,demand\n0,a,1\n', /^line 1: expected the header/],
    [h, /no data rows/],
    [`${h}0,a,1\n`, /only one interval/],
    [`${h}0,a,1\n60,a\n`, /^line 3: expected 3 fields/],
    [`${h}0,a,1\n60,a,1,2\n`, /^line 3: expected 3 fields/],
    [`${h}0,a,1\nsoon,a,1\n`, /^line 3: t_seconds "soon" is not a number ≥ 0/],
    [`${h}-60,a,1\n0,a,1\n`, /^line 2: t_seconds "-60" is not a number ≥ 0/],
    [`${h}0,a,1\n60,a,\n`, /^line 3: demand "" is not a number ≥ 0/],
    [`${h}0,a,1\n60,a,-2\n`, /^line 3: demand "-2" is not a number ≥ 0/],
    [`${h}0,a,1\n60,a,NaN\n`, /^line 3: demand "NaN"/],
    [`${h}0,a,1\n60, ,1\n`, /^line 3: service is empty/],
    [`${h}0,a,1\n60,a,1\n30,a,1\n`, /^line 4: t_seconds 30 comes after 60 \(rows must be sorted by time\)/],
    [`${h}0,a,1\n0,a,2\n`, /^line 3: a second row for service "a" at t_seconds 0/],
    [`${h}0,a,1\n60,a,1\n180,a,1\n`, /^line 4: t_seconds jumps from 60 to 180, expected every 60 s/],
    [`${h}0,a,1\n0,b,1\n60,a,1\n120,a,1\n120,b,1\n`, /service "b" has no row at t_seconds 60 \(line 4\)/],
    [`${h}0,a,1\n60,a,1\n60,b,1\n`, /service "b" has no row at t_seconds 0 \(line 2\)/],
  ];
  for (const [text, error] of cases)
    assert.throws(() => parseTrace(text), { message: error }, JSON.stringify(text));
});

test('real traces parse with their known values', { skip: noTraces }, async () => {
  const nasa = await loadTrace(`${TRACES}nasa_http_1995_1min.csv`);
  assert.equal(nasa.step, 60);
  assert.deepEqual([...nasa.services.keys()], ['nasa-ksc-web']);
  const web = nasa.services.get('nasa-ksc-web');
  assert.deepEqual(web?.demand.slice(0, 3), [42, 61, 57]);
  assert.equal(web?.demand.length, 38_880);
  assert.equal(web?.t.at(-1), 2_332_740);
  assert.equal(web?.demand.at(-1), 24);

  const fn = await loadTrace(`${TRACES}azure_functions_2019_8h_12fn_1min.csv`);
  assert.equal(fn.step, 60);
  assert.equal(fn.services.size, 12);
  for (const series of fn.services.values()) assert.equal(series.demand.length, 480);
  assert.equal(fn.services.get('fn-event-1992918c')?.demand[0], 4303);
  assert.equal(fn.services.get('fn-timer-08d3e511')?.demand[0], 60);
  assert.equal(fn.services.get('fn-http-444104e8')?.demand[3660 / 60], 742);

  const llm = await loadTrace(`${TRACES}azure_llm_inference_2023_1s.csv`);
  assert.equal(llm.step, 1);
  assert.deepEqual([...llm.services.keys()], ['llm-conversation', 'llm-code']);
  assert.equal(llm.services.get('llm-code')?.demand.length, 3514);
  assert.deepEqual(llm.services.get('llm-code')?.demand.slice(76, 79), [0, 1, 7]);
});

test('parsing the 39k-row NASA trace is fast', { skip: noTraces }, async () => {
  const text = await readFile(`${TRACES}nasa_http_1995_1min.csv`, 'utf8');
  const started = performance.now();
  parseTrace(text);
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`); // generous: a sanity bound, not a benchmark
});

function replay(trace: Trace, options: { service?: string; timeScale?: number; loop?: boolean } = {}) {
  const clock = new FakeClock(7_000);
  const source = new TraceSource(
    trace,
    { service: options.service ?? 'a', timeScale: options.timeScale ?? 1, loop: options.loop ?? true },
    clock,
  );
  return {
    /** Reads at `ms` milliseconds after the source was created. */
    at: async (ms: number) => {
      clock.time = 7_000 + ms;
      return source.read(signal);
    },
  };
}

test('replay picks the interval containing the scaled trace time', async () => {
  const trace = parseTrace(SMALL); // a: 10, 20, 30 over [0,10) [10,20) [20,30) trace seconds
  const cases: { timeScale: number; ms: number; value: number }[] = [
    { timeScale: 1, ms: 0, value: 10 },
    { timeScale: 1, ms: 9_999, value: 10 },
    { timeScale: 1, ms: 10_000, value: 20 },
    { timeScale: 1, ms: 29_999, value: 30 },
    { timeScale: 10, ms: 999, value: 10 },
    { timeScale: 10, ms: 1_000, value: 20 },
    { timeScale: 10, ms: 2_500, value: 30 },
    { timeScale: 0.1, ms: 99_999, value: 10 },
    { timeScale: 0.1, ms: 100_000, value: 20 },
    { timeScale: 60, ms: 334, value: 30 },
  ];
  for (const { timeScale, ms, value } of cases) {
    const result = await replay(trace, { timeScale }).at(ms);
    assert.ok(result.ok, `timeScale ${timeScale} at ${ms}ms`);
    assert.equal(result.reading.value, value, `timeScale ${timeScale} at ${ms}ms`);
    assert.equal(result.reading.at, 7_000 + ms);
  }
});

test('replay gives rate as arrivals per real second', async () => {
  const trace = parseTrace(SMALL);
  const cases: [number, number][] = [
    [1, 1], // 10 per 10 s interval, replayed in real time: 1/s
    [10, 10], // the same interval squeezed into 1 s
  ];
  for (const [timeScale, rate] of cases) {
    const result = await replay(trace, { timeScale }).at(0);
    assert.ok(result.ok);
    assert.equal(result.reading.rate, rate);
  }
});

test('replay loops by default, and ends with an error when loop is off', async () => {
  const trace = parseTrace(SMALL);
  const looping = replay(trace, { service: 'b' });
  const looped = await looping.at(30_000 + 10_000);
  assert.ok(looped.ok);
  assert.equal(looped.reading.value, 2);
  const once = replay(trace, { service: 'b', loop: false });
  assert.equal((await once.at(29_999)).ok, true);
  assert.deepEqual(await once.at(30_000), { ok: false, error: 'trace ended (30 s of trace time)' });
});

test('replay: an unknown service lists the services in the trace', () => {
  assert.throws(() => replay(parseTrace(SMALL), { service: 'c' }), {
    name: 'RangeError',
    message: 'unknown service "c" (services: a, b)',
  });
});

test('TraceSource.create resolves the file against baseDir and picks the service', async () => {
  const ctx = fakeContext({ service: 'b' });
  const source = await TraceSource.create(traceSchema.parse({ file: 'two-services.csv' }), ctx);
  assert.deepEqual(await source.read(signal), {
    ok: true,
    reading: { value: 1, rate: 0.1, at: ctx.clock.now() },
  });
  const named = await TraceSource.create(traceSchema.parse({ file: 'two-services.csv', service: 'a' }), ctx);
  assert.deepEqual(await named.read(signal), {
    ok: true,
    reading: { value: 10, rate: 1, at: ctx.clock.now() },
  });
});

test('TraceSource.create: a one-service file replays whatever its column is called', {
  skip: noTraces,
}, async () => {
  const ctx = fakeContext({ service: 'web', baseDir: TRACES });
  const source = await TraceSource.create(
    traceSchema.parse({ file: 'nasa_http_1995_1min.csv', timeScale: 60 }),
    ctx,
  );
  const values: number[] = [];
  for (let k = 0; k < 3; k++) {
    const result = await source.read(signal);
    assert.ok(result.ok);
    values.push(result.reading.value);
    ctx.clock.advance(1000); // a trace minute per second
  }
  assert.deepEqual(values, [42, 61, 57]);
});

test('TraceSource.create fails with a ConfigError for missing files, bad rows and unknown services', async () => {
  const ctx = fakeContext();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ file: 'no-such.csv' }, /^source\.file: cannot read .*no-such\.csv: ENOENT/],
    [{ file: 'bad-row.csv' }, /^source\.file: .*bad-row\.csv: line 4: demand "lots" is not a number ≥ 0$/],
    [
      { file: 'two-services.csv' },
      /^source\.service: unknown service "web" in .*two-services\.csv \(services: a, b\)$/,
    ],
    [
      { file: 'two-services.csv', service: 'c' },
      /^source\.service: unknown service "c" .*\(services: a, b\)$/,
    ],
  ];
  for (const [settings, message] of cases) {
    await assert.rejects(TraceSource.create(traceSchema.parse(settings), ctx), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 1);
      assert.match(error.problems[0] ?? '', message);
      return true;
    });
  }
});

test('trace settings: defaults and validation', () => {
  assert.deepEqual(traceSchema.parse({ file: 'x.csv' }), { file: 'x.csv', timeScale: 1, loop: true });
  for (const bad of [
    {},
    { file: '' },
    { file: 'x', timeScale: 0 },
    { file: 'x', loop: 'yes' },
    { file: 'x', speed: 2 },
  ]) {
    assert.equal(traceSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
