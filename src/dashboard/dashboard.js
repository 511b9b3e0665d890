// @ts-check
// The live dashboard. Plain JavaScript served as is (no build step); tsc checks it against the DOM and core's
// types through the JSDoc annotations (src/dashboard/tsconfig.json). Everything comes from the server's own
// routes: GET /api/events (state every half second, and events), GET /api/state while the server refuses
// the stream, and POST /api/services/NAME/demand, .../pause and .../resume.

/** @typedef {import('../core/types.js').Snapshot} Snapshot */
/** @typedef {import('../core/types.js').ServiceState} ServiceState */
/**
 * What /api/state and the stream's `state` event add to core's ServiceState.
 * @typedef {ServiceState & { paused?: boolean, acceptsDemand?: boolean, override?: { value: number, until: string } }} LiveService
 * @typedef {Omit<Snapshot, 'services'> & { services: LiveService[], leader?: { holder: string | null, self: boolean } }} LiveSnapshot
 * @typedef {{ id: number, kind: string, time: string, service?: string, message: string, reason?: string }} LiveEvent
 * @typedef {{ t: number, capacity: number, services: Map<string, { running: number, need: number }> }} Sample
 */

/**
 * The stream's event names. A source or back-end error comes as `failure` (its data's kind is `error`):
 * EventSource's own `error` event means the connection failed.
 */
const KINDS = ['plan', 'preempt', 'start', 'stop', 'failure', 'recovered', 'change'];
/** How long samples are kept, and the widest the chart gets. */
const KEEP_MS = 5 * 60_000;
const WINDOW_MAX_MS = 3 * 60_000;
const WINDOW_MIN_MS = 30_000;
/** A gap this long between samples (the server was away) is drawn as a gap. */
const GAP_MS = 3000;
/** Without a state message for this long the stream is taken for dead and opened again. */
const STALE_MS = 5000;
const MAX_EVENTS = 60;

/** Warm colours for priority 1, cool for 2, greens for 3, greys below. */
const PALETTES = [
  ['#f97316', '#ef4444', '#f59e0b', '#ec4899', '#fb7185'],
  ['#3b82f6', '#06b6d4', '#6366f1', '#0ea5e9', '#8b5cf6'],
  ['#22c55e', '#84cc16', '#10b981', '#14b8a6'],
  ['#94a3b8', '#64748b', '#cbd5e1'],
];

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const state = {
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

// ---- the stream ---------------------------------------------------------------------------------------

/** @type {EventSource | undefined} */
let source;
let retryMs = 500;

function connect() {
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

// ---- state and history ------------------------------------------------------------------------------

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

// ---- rendering ----------------------------------------------------------------------------------------

/** @param {LiveService} s */
function colorOf(s) {
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
function stackOrder(services) {
  return [...services].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1));
}

/** @param {LiveSnapshot} s */
function renderHeader(s) {
  byId('instance').textContent = s.name;
  // High availability: which instance acts (only shown when the config has `ha`).
  const leader = byId('leader');
  leader.hidden = !s.leader;
  if (s.leader) {
    leader.textContent = s.leader.self ? 'leader' : `follower (leader: ${s.leader.holder ?? 'none'})`;
    leader.classList.toggle('follower', !s.leader.self);
  }
  byId('capacity').textContent = `capacity ${s.capacity.used} / ${s.capacity.replicas}`;
  // While the back-end cannot be observed nothing is planned: say so above everything else.
  const banner = byId('scheduler-error');
  banner.hidden = s.schedulerError === undefined;
  banner.textContent = s.schedulerError === undefined ? '' : `back-end: ${s.schedulerError}`;
  byId('clock').textContent = new Date(s.time).toLocaleTimeString([], { hour12: false });
  document.title = `microscaler · ${s.name}`;
}

let legendKey = '';
/** @param {LiveSnapshot} s */
function renderLegend(s) {
  const ordered = stackOrder(s.services);
  const key = ordered.map((x) => `${x.name}:${x.priority}`).join(',');
  if (key === legendKey) return;
  legendKey = key;
  const legend = byId('legend');
  legend.replaceChildren();
  for (const svc of ordered) {
    const item = el('span');
    const sw = el('span', 'swatch');
    sw.style.background = colorOf(svc);
    item.append(sw, `${svc.name} (priority ${svc.priority})`);
    legend.append(item);
  }
  const cap = el('span');
  cap.append(el('span', 'swatch line'), 'capacity');
  const need = el('span');
  need.append(el('span', 'swatch need'), 'need (on its band)');
  legend.append(cap, need);
}

/** @param {number | null} v */
function num(v) {
  if (v === null || v === undefined) return '–';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** @param {LiveSnapshot} s */
function renderTable(s) {
  const table = /** @type {HTMLTableElement} */ (byId('services'));
  const body = /** @type {HTMLTableSectionElement} */ (table.tBodies[0]);
  const rows = new Map([...body.rows].map((r) => [r.dataset.service, r]));
  const names = new Set(s.services.map((x) => x.name));
  for (const [name, row] of rows) if (!name || !names.has(name)) row.remove();
  for (const svc of stackOrder(s.services)) {
    let row = rows.get(svc.name);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.service = svc.name;
      for (let i = 0; i < 11; i++) row.append(document.createElement('td'));
      const name = /** @type {HTMLTableCellElement} */ (row.cells[0]);
      name.className = 'name';
      const sw = el('span', 'swatch');
      sw.style.background = colorOf(svc);
      name.append(sw, el('span', 'label', svc.name), el('span', 'tag', 'paused'));
      /** @type {HTMLTableCellElement} */ (row.cells[9]).className = 'reason';
      const button = el('button', 'pause');
      button.addEventListener('click', () => {
        const paused = row?.classList.contains('paused');
        void write(`/api/services/${encodeURIComponent(svc.name)}/${paused ? 'resume' : 'pause'}`, {});
      });
      /** @type {HTMLTableCellElement} */ (row.cells[10]).append(button);
      body.append(row);
    }
    row.classList.toggle('paused', svc.paused === true);
    /** @type {HTMLElement} */ (row.querySelector('.tag')).hidden = svc.paused !== true;
    const values = [
      svc.priority,
      svc.value,
      svc.need,
      svc.desired,
      svc.running,
      svc.starting,
      svc.stopping,
      svc.warm ?? 0,
    ];
    values.forEach((v, i) => {
      const cell = /** @type {HTMLTableCellElement} */ (row?.cells[i + 1]);
      const text = num(v);
      if (cell.textContent !== text) cell.textContent = text;
    });
    const reason = /** @type {HTMLTableCellElement} */ (row.cells[9]);
    // A failing source or back-end call says so until it recovers; otherwise the last reason for a change.
    const problem = svc.error ?? svc.scaleError;
    reason.classList.toggle('error', problem !== undefined);
    reason.textContent = problem ?? state.reasons.get(svc.name) ?? '';
    /** @type {HTMLElement} */ (row.querySelector('button.pause')).textContent = svc.paused
      ? 'resume'
      : 'pause';
  }
  body.dataset.ready = 'true';
}

function renderEvents() {
  const list = byId('events');
  const items = state.events.map((e) => {
    const li = el('li', `event kind-${e.kind}`);
    const time = el('time', '', new Date(e.time).toLocaleTimeString([], { hour12: false }));
    time.setAttribute('datetime', e.time);
    li.append(time, el('span', `kind kind-${e.kind}`, e.kind), el('span', 'message', e.message));
    return li;
  });
  list.replaceChildren(...items);
}

// ---- demand by hand -----------------------------------------------------------------------------------

/** @type {Map<string, { input: HTMLInputElement, output: HTMLOutputElement, held: HTMLElement, dragging: boolean }>} */
const controls = new Map();

/** @param {LiveSnapshot} s */
function renderDemand(s) {
  const takers = s.services.filter((x) => x.acceptsDemand);
  byId('demand-panel').hidden = takers.length === 0;
  const box = byId('demand-controls');
  for (const svc of takers) {
    let c = controls.get(svc.name);
    if (!c) {
      const row = el('div', 'control');
      row.dataset.service = svc.name;
      const input = /** @type {HTMLInputElement} */ (el('input'));
      input.type = 'range';
      input.min = '0';
      input.step = '1';
      input.setAttribute('aria-label', `demand of ${svc.name}`);
      const output = /** @type {HTMLOutputElement} */ (el('output'));
      const held = el('span', 'held');
      row.append(el('label', '', `${svc.name} demand`), input, output, held);
      box.append(row);
      const control = { input, output, held, dragging: false };
      controls.set(svc.name, control);
      c = control;
      let timer = 0;
      const send = () => {
        void write(`/api/services/${encodeURIComponent(svc.name)}/demand`, { value: Number(input.value) });
      };
      input.addEventListener('input', () => {
        control.dragging = true;
        output.textContent = input.value;
        // While dragging, at most a few requests a second; the last value always goes out on release.
        if (!timer) {
          timer = window.setTimeout(() => {
            timer = 0;
            send();
          }, 150);
        }
      });
      input.addEventListener('change', () => {
        control.dragging = false;
        send();
      });
    }
    const value = svc.override?.value ?? svc.value ?? 0;
    const top = Math.max(Number(c.input.max) || 0, niceCeil(Math.max(100, value * 1.5)));
    if (String(top) !== c.input.max) c.input.max = String(top);
    if (!c.dragging) {
      c.input.value = String(Math.round(value));
      c.output.textContent = num(svc.value);
    }
    const left = svc.override
      ? Math.max(0, Math.ceil((Date.parse(svc.override.until) - Date.now()) / 1000))
      : 0;
    c.held.textContent = svc.override ? `set by hand, ${left} s left` : 'following its source';
  }
}

/** @param {number} v */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** @type {{ path: string, body: unknown } | undefined} the change refused for want of a token, sent again once one is given */
let awaitingToken;

/**
 * POSTs a JSON body with the token, if one was given; shows the server's message when refused.
 * @param {string} path
 * @param {unknown} body
 */
async function write(path, body) {
  const error = byId('demand-error');
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  const token = sessionStorage.getItem('microscaler-token');
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.ok) {
      error.textContent = '';
      return;
    }
    const answer = await res.json().catch(() => ({}));
    error.textContent = answer.error ?? `HTTP ${res.status}`;
    if (res.status === 401) {
      awaitingToken = { path, body };
      byId('demand-panel').hidden = false;
      byId('token-form').hidden = false;
    }
  } catch (e) {
    error.textContent = `cannot reach the server: ${e instanceof Error ? e.message : String(e)}`;
  }
}

byId('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId('token'));
  sessionStorage.setItem('microscaler-token', input.value);
  input.value = '';
  byId('token-form').hidden = true;
  byId('demand-error').textContent = '';
  // What the user asked for before the token was known: do it now (refused again, the form comes back).
  const retry = awaitingToken;
  awaitingToken = undefined;
  if (retry) void write(retry.path, retry.body);
});

// ---- the chart ----------------------------------------------------------------------------------------

function drawChart() {
  const canvas = /** @type {HTMLCanvasElement} */ (byId('chart'));
  const ctx = canvas.getContext('2d');
  const snapshot = state.snapshot;
  if (!ctx || !snapshot) return;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const pad = { left: 36, right: 86, top: 12, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const samples = state.samples;
  const last = /** @type {Sample} */ (samples[samples.length - 1]);
  const first = /** @type {Sample} */ (samples[0]);
  const span = Math.min(WINDOW_MAX_MS, Math.max(WINDOW_MIN_MS, last.t - first.t));
  const t0 = last.t - span;
  const ordered = stackOrder(snapshot.services);

  let top = 0;
  for (const s of samples) {
    let sum = 0;
    for (const v of s.services.values()) sum += v.running;
    top = Math.max(top, sum, s.capacity);
  }
  const yMax = Math.max(4, Math.ceil(top * 1.1));
  /** @param {number} t */
  const x = (t) => pad.left + ((t - t0) / span) * plotW;
  /** @param {number} v */
  const y = (v) => pad.top + plotH - (v / yMax) * plotH;

  // Grid and axes.
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#8b9ab5';
  ctx.strokeStyle = '#1f2a44';
  ctx.lineWidth = 1;
  const step = niceCeil(yMax / 5);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= yMax; v += step) {
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y(v)) + 0.5);
    ctx.lineTo(pad.left + plotW, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(String(v), pad.left - 6, y(v));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const tickMs = span > 120_000 ? 30_000 : span > 45_000 ? 15_000 : 5000;
  for (let t = Math.ceil(t0 / tickMs) * tickMs; t <= last.t; t += tickMs) {
    const ago = Math.round((last.t - t) / 1000);
    ctx.fillText(ago === 0 ? 'now' : `-${ago}s`, x(t), pad.top + plotH + 6);
  }

  // Runs of samples without a gap (the server was away in between).
  const visible = samples.filter((s, i) => s.t >= t0 || (samples[i + 1]?.t ?? 0) >= t0);
  /** @type {Sample[][]} */
  const runs = [];
  for (const s of visible) {
    const run = runs[runs.length - 1];
    const prev = run?.[run.length - 1];
    if (!run || !prev || s.t - prev.t > GAP_MS) runs.push([s]);
    else run.push(s);
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.left, pad.top, plotW, plotH);
  ctx.clip();
  for (const run of runs) {
    /** @type {number[]} */
    const base = run.map(() => 0);
    for (const svc of ordered) {
      const color = colorOf(svc);
      const tops = run.map((s, i) => (base[i] ?? 0) + (s.services.get(svc.name)?.running ?? 0));
      ctx.beginPath();
      run.forEach((s, i) => {
        if (i === 0) ctx.moveTo(x(s.t), y(tops[i] ?? 0));
        else ctx.lineTo(x(s.t), y(tops[i] ?? 0));
      });
      for (let i = run.length - 1; i >= 0; i--)
        ctx.lineTo(x(/** @type {Sample} */ (run[i]).t), y(base[i] ?? 0));
      ctx.closePath();
      ctx.globalAlpha = 0.78;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      run.forEach((s, i) => {
        if (i === 0) ctx.moveTo(x(s.t), y(tops[i] ?? 0));
        else ctx.lineTo(x(s.t), y(tops[i] ?? 0));
      });
      ctx.stroke();
      // Need, drawn on the service's own band: the gap above the band is what capacity does not give it.
      ctx.setLineDash([2, 3]);
      ctx.strokeStyle = lighten(color);
      ctx.lineWidth = 1.5;
      // Above capacity a need cannot be met anyway (a remainder service asks for its max): not drawn.
      ctx.beginPath();
      let drawing = false;
      run.forEach((s, i) => {
        const need = (base[i] ?? 0) + (s.services.get(svc.name)?.need ?? 0);
        if (need > s.capacity) drawing = false;
        else if (drawing) ctx.lineTo(x(s.t), y(need));
        else {
          ctx.moveTo(x(s.t), y(need));
          drawing = true;
        }
      });
      ctx.stroke();
      ctx.setLineDash([]);
      tops.forEach((v, i) => {
        base[i] = v;
      });
    }
    // Capacity.
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = '#e2e8f0';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    run.forEach((s, i) => {
      if (i === 0) ctx.moveTo(x(s.t), y(s.capacity));
      else ctx.lineTo(x(s.t), y(s.capacity));
    });
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();

  // Labels at the right edge: each band's running count, and the capacity.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.font = '600 11px system-ui, sans-serif';
  let base = 0;
  let labelFloor = Number.POSITIVE_INFINITY;
  for (const svc of ordered) {
    const running = last.services.get(svc.name)?.running ?? 0;
    if (running > 0) {
      const mid = Math.min(y(base + running / 2), labelFloor - 13);
      ctx.fillStyle = colorOf(svc);
      ctx.fillText(`${svc.name} ${running}`, pad.left + plotW + 8, mid);
      labelFloor = mid;
    }
    base += running;
  }
  ctx.fillStyle = '#e2e8f0';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(
    `capacity ${last.capacity}`,
    pad.left + plotW + 8,
    Math.max(pad.top + 6, y(last.capacity) - 10),
  );

  // The same, in words, for screen readers (and for tests, which cannot read pixels reliably).
  const words = ordered.map((s) => {
    const v = last.services.get(s.name);
    return `${s.name} ${v?.running ?? 0} running, need ${v?.need ?? 0}`;
  });
  canvas.setAttribute('aria-label', `Running replicas: ${words.join('; ')}; capacity ${last.capacity}`);
  canvas.dataset.samples = String(samples.length);
  canvas.dataset.yMax = String(yMax);
  canvas.dataset.plot = JSON.stringify({ left: pad.left, top: pad.top, width: plotW, height: plotH });
}

/** @param {string} hex */
function lighten(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  /** @param {number} c */
  const mix = (c) => Math.round(c + (255 - c) * 0.55);
  return `rgb(${mix((n >> 16) & 255)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

window.addEventListener('resize', () => drawChart());
connect();
