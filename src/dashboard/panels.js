// @ts-check
// The header, the chart's legend, the services table and the events list, drawn from the state.
import { byId, colorOf, el, num, stackOrder, state } from './page.js';
import { write } from './write.js';

/** @typedef {import('./page.js').LiveSnapshot} LiveSnapshot */

/** @param {LiveSnapshot} s */
export function renderHeader(s) {
  byId('instance').textContent = s.name;
  // High availability: which instance acts (only shown when the config has `ha`).
  const leader = byId('leader');
  leader.hidden = !s.leader;
  if (s.leader) {
    leader.textContent = s.leader.self ? 'leader' : `follower (leader: ${s.leader.holder ?? 'none'})`;
    leader.classList.toggle('follower', !s.leader.self);
  }
  byId('capacity').textContent = `capacity ${s.capacity.used} / ${s.capacity.replicas}`;
  // Pressure for VM autoscaling (docs/capacity.md), in replicas; shown once there is some.
  const pressure = byId('pressure');
  const p = s.pressure;
  pressure.hidden = !p || (p.unmet.replicas === 0 && p.idle.replicas === 0);
  if (p) {
    /** @type {(what: string, now: number, lasted: number) => string} */
    const part = (what, now, lasted) => `${what} ${now}${lasted > 0 ? ` (sustained ${lasted})` : ''}`;
    pressure.textContent = [
      ...(p.unmet.replicas > 0 ? [part('unmet', p.unmet.replicas, p.sustainedUnmet.replicas)] : []),
      ...(p.idle.replicas > 0 ? [part('idle', p.idle.replicas, p.sustainedIdle.replicas)] : []),
    ].join(' · ');
  }
  // While the back-end cannot be observed nothing is planned: say so above everything else.
  const banner = byId('scheduler-error');
  const trouble = [
    ...(s.schedulerError === undefined ? [] : [`back-end: ${s.schedulerError}`]),
    ...(s.capacityError === undefined ? [] : [`capacity: ${s.capacityError}`]),
  ];
  banner.hidden = trouble.length === 0;
  banner.textContent = trouble.join(' · ');
  byId('clock').textContent = new Date(s.time).toLocaleTimeString([], { hour12: false });
  document.title = `microscaler · ${s.name}`;
}

let legendKey = '';
/** @param {LiveSnapshot} s */
export function renderLegend(s) {
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

/** @param {LiveSnapshot} s */
export function renderTable(s) {
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

export function renderEvents() {
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
