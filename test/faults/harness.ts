// What the fault tests share: a controller behind the real HTTP API, with a logger that keeps every line,
// and one call that gathers the four places a fault must show up: GET /api/state, the event log (what
// GET /api/events streams), GET /metrics, and the logs.
import assert from 'node:assert/strict';
import type { ApiServer } from '../../src/api/server.js';
import { startApiServer } from '../../src/api/server.js';
import { Controller, type ControllerOptions, type LiveEvent } from '../../src/controller/index.js';
import type { Snapshot } from '../../src/core/types.js';
import { recordingLogger } from '../sources/servers.js';

export type Recorder = ReturnType<typeof recordingLogger>;

export interface Rig {
  readonly controller: Controller;
  readonly logger: Recorder;
  readonly server: ApiServer;
  /** The four places, read now (state and metrics over HTTP). */
  view(): Promise<View>;
  close(): Promise<void>;
}

export interface View {
  readonly state: Snapshot;
  readonly events: readonly LiveEvent[];
  /** `name{label="v",...}` → value, every sample of the scrape. */
  readonly metrics: ReadonlyMap<string, number>;
  readonly logs: readonly string[];
}

export async function rig(options: Omit<ControllerOptions, 'logger' | 'name'>): Promise<Rig> {
  const logger = recordingLogger();
  const controller = new Controller({ name: 'faults', logger, ...options });
  const server = await startApiServer({
    listen: '127.0.0.1:0',
    snapshot: () => controller.snapshot(),
    pushDemand() {},
    controller,
    stream: { heartbeatMs: 60_000, stateIntervalMs: 60_000 },
  });
  return {
    controller,
    logger,
    server,
    async view() {
      const state = (await (await fetch(`${server.url}/api/state`)).json()) as Snapshot;
      const metrics = parseSamples(await (await fetch(`${server.url}/metrics`)).text());
      return { state, events: controller.log.recent(), metrics, logs: [...logger.lines] };
    },
    async close() {
      await controller.stop();
      await server.close();
    },
  };
}

/** Every sample of a Prometheus text scrape, keyed by its name and labels exactly as written. */
export function parseSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** A sample's value; the labels are written in the order the renderer writes them. */
export function sample(view: View, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  const key = entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  return view.metrics.get(key);
}

export function service(view: View, name: string): Snapshot['services'][number] {
  const s = view.state.services.find((x) => x.name === name);
  assert.ok(s, `no service ${name} in ${JSON.stringify(view.state)}`);
  return s;
}

/**
 * Asserts a service's source fault shows in all four places: state (error, no value), an error event for
 * the service, the failing gauge and the error counter, and a warn log line; `pattern` is what it says.
 */
export function assertSourceFault(view: View, name: string, pattern: RegExp): void {
  const s = service(view, name);
  assert.match(s.error ?? '', pattern, `state: ${JSON.stringify(s)}`);
  assert.equal(s.value, null, 'no value while the source fails');
  assert.ok(
    view.events.some((e) => e.kind === 'error' && e.service === name && pattern.test(e.message)),
    `error event: ${JSON.stringify(view.events)}`,
  );
  assert.equal(sample(view, 'microscaler_source_failing', { service: name }), 1, 'failing gauge');
  assert.ok((sample(view, 'microscaler_source_errors_total', { service: name }) ?? 0) >= 1, 'error counter');
  assert.ok(
    view.logs.some((l) => l.startsWith('warn ') && pattern.test(l)),
    `warn log: ${view.logs.join('\n')}`,
  );
}

/** Asserts the source fault of a service has cleared everywhere it showed, with a `recovered` event. */
export function assertSourceRecovered(view: View, name: string): void {
  const s = service(view, name);
  assert.equal(s.error, undefined, `state: ${JSON.stringify(s)}`);
  assert.equal(typeof s.value, 'number');
  const lastError = view.events.findLastIndex((e) => e.kind === 'error' && e.service === name);
  const recovered = view.events.findLastIndex((e) => e.kind === 'recovered' && e.service === name);
  assert.ok(recovered > lastError, `a recovered event after the last error: ${JSON.stringify(view.events)}`);
  assert.equal(sample(view, 'microscaler_source_failing', { service: name }), 0, 'failing gauge back to 0');
  assert.ok(view.logs.some((l) => l.startsWith('info ') && l.includes(`${name}: recovered`)));
}

/** Polls until fn returns a truthy value, or fails at the deadline with what it last saw. */
export async function until<T>(fn: () => T | Promise<T>, what: string, deadlineMs = 8000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${what}: not within ${deadlineMs}ms (last: ${JSON.stringify(last)})`);
}
