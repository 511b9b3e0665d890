// @ts-check
// The chart of running replicas: stacked bands by priority, each service's need, capacity, over time.
import { byId, colorOf, niceCeil, stackOrder, state } from './page.js';

/** @typedef {import('./page.js').Sample} Sample */

/** The widest the chart gets, and the narrowest. */
const WINDOW_MAX_MS = 3 * 60_000;
const WINDOW_MIN_MS = 30_000;
/** A gap this long between samples (the server was away) is drawn as a gap. */
const GAP_MS = 3000;

export function drawChart() {
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
    // Capacity: a step line, since it changes at an instant (a node joins or leaves).
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = '#e2e8f0';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    run.forEach((s, i) => {
      if (i === 0) ctx.moveTo(x(s.t), y(s.capacity));
      else {
        ctx.lineTo(x(s.t), y(run[i - 1].capacity));
        ctx.lineTo(x(s.t), y(s.capacity));
      }
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
