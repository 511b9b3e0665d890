// @ts-check
// Demand by hand: a slider per service that takes it, sending what is set (at most a few times a second).
import { byId, el, niceCeil, num } from './page.js';
import { write } from './write.js';

/** @typedef {import('./page.js').LiveSnapshot} LiveSnapshot */

/** @type {Map<string, { input: HTMLInputElement, output: HTMLOutputElement, held: HTMLElement, dragging: boolean }>} */
const controls = new Map();

/** @param {LiveSnapshot} s */
export function renderDemand(s) {
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
