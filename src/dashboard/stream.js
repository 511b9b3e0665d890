// @ts-check
// The connection: the event stream (reconnects, a refused stream polled meanwhile) and what each message
// changes in the state.
import { drawChart } from './chart.js';
import { renderDemand } from './demand.js';
import { byId, state } from './page.js';
import { renderEvents, renderHeader, renderLegend, renderTable } from './panels.js';

/** @typedef {import('./page.js').LiveEvent} LiveEvent */
/** @typedef {import('./page.js').LiveSnapshot} LiveSnapshot */
/** @typedef {import('./page.js').Sample} Sample */

/**
 * The stream's event names. A source or back-end error comes as `failure` (its data's kind is `error`):
 * EventSource's own `error` event means the connection failed.
 */
const KINDS = ['plan', 'preempt', 'start', 'stop', 'failure', 'recovered', 'change'];
/** How long samples are kept. */
const KEEP_MS = 5 * 60_000;
/** Without a state message for this long the stream is taken for dead and opened again. */
const STALE_MS = 5000;
const MAX_EVENTS = 60;

/** @type {EventSource | undefined} */
let source;
let retryMs = 500;

export function connect() {
  source?.close();
  const es = new EventSource('/api/events');
  source = es;
  es.addEventListener('open', () => {
    retryMs = 500;
  });
  es.addEventListener('state', (e) => {
    const snapshot = parse(e);
    if (!snapshot) return;
    state.lastMessageAt = Date.now();
    setConnection(true);
    setStreamProblem(undefined);
    onState(snapshot);
  });
  for (const kind of KINDS) {
    es.addEventListener(kind, (e) => {
      const event = parse(e);
      if (event) onEvent(event, /** @type {MessageEvent} */ (e).lastEventId);
    });
  }
  es.addEventListener('error', (e) => {
    // A server from before `failure` sent source errors as `event: error`: a message, not a failed stream.
    const event = parse(e);
    if (event) {
      onEvent(event, /** @type {MessageEvent} */ (e).lastEventId);
      return;
    }
    setConnection(false);
    // The browser retries by itself while CONNECTING; once CLOSED it has given up (the server answered
    // with an error, such as 503 when too many streams are open): find out why, and start again later.
    if (es.readyState === EventSource.CLOSED) void refused();
  });
}

/**
 * The data of a stream message, or undefined for anything else (EventSource's own error event has none).
 * @param {Event} e
 */
function parse(e) {
  const data = e instanceof MessageEvent ? e.data : undefined;
  if (typeof data !== 'string') return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function reconnectSoon() {
  source?.close();
  source = undefined;
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 5000);
}

/** The server refused the stream: say why, show its state meanwhile (not a blank page), and retry. */
async function refused() {
  source?.close();
  source = undefined;
  const why = await refusal();
  setStreamProblem(
    why && `live updates are unavailable: ${why}; the page shows the state every few seconds and tries again`,
  );
  if (why) await pollState();
  reconnectSoon();
}

/** What the server answers a stream request with, when it refuses one (undefined when it would open). */
async function refusal() {
  const abort = new AbortController();
  try {
    const res = await fetch('/api/events', {
      signal: abort.signal,
      headers: { Accept: 'text/event-stream' },
    });
    if (res.ok) return undefined;
    const answer = await res.json().catch(() => ({}));
    return `${answer.error ?? 'the server refused the stream'} (HTTP ${res.status})`;
  } catch {
    return undefined; // the server is away: the header says reconnecting
  } finally {
    abort.abort();
  }
}

async function pollState() {
  try {
    const res = await fetch('/api/state');
    if (res.ok) onState(await res.json());
  } catch {
    // away again: the next try says so
  }
}

/** @param {string | undefined} problem */
function setStreamProblem(problem) {
  const banner = byId('stream-error');
  banner.hidden = problem === undefined;
  banner.textContent = problem ?? '';
}

// A half-open connection (a proxy, a sleeping laptop) sends nothing and reports no error.
setInterval(() => {
  if (source && state.lastMessageAt > 0 && Date.now() - state.lastMessageAt > STALE_MS) {
    state.lastMessageAt = 0;
    setConnection(false);
    reconnectSoon();
  }
}, 1000);

/** @param {boolean} live */
function setConnection(live) {
  const c = byId('connection');
  c.className = `connection ${live ? 'live' : 'connecting'}`;
  c.textContent = live ? 'live' : 'reconnecting…';
}

/** @param {LiveSnapshot} snapshot */
function onState(snapshot) {
  state.snapshot = snapshot;
  const now = Date.now();
  state.samples.push({
    t: now,
    capacity: snapshot.capacity.replicas,
    services: new Map(snapshot.services.map((s) => [s.name, { running: s.running, need: s.need }])),
  });
  while (state.samples.length > 0 && now - /** @type {Sample} */ (state.samples[0]).t > KEEP_MS) {
    state.samples.shift();
  }
  for (const s of snapshot.services) if (s.reason) state.reasons.set(s.name, s.reason);
  renderHeader(snapshot);
  renderLegend(snapshot);
  renderTable(snapshot);
  renderDemand(snapshot);
  drawChart();
}

/**
 * @param {LiveEvent} event
 * @param {string} id
 */
function onEvent(event, id) {
  state.lastMessageAt = Date.now();
  if (id && state.seen.has(id)) return;
  if (id) state.seen.add(id);
  if (state.seen.size > 5000) state.seen = new Set([...state.seen].slice(-1000));
  state.events.unshift(event);
  state.events.length = Math.min(state.events.length, MAX_EVENTS);
  if (event.service && event.kind !== 'change')
    state.reasons.set(event.service, event.reason ?? event.message);
  renderEvents();
}
