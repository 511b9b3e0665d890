import type { Series } from './simulation.js';

export interface PlotRun {
  readonly name: string;
  readonly series: Series;
}

const W = 900;
const H = 160;
const COLOURS = { demand: '#888', p1: '#1f77b4', p2: '#ff7f0e', backlog: '#d62728' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function polyline(t: number[], y: number[], tMax: number, yMax: number, colour: string): string {
  const points = t
    .map((x, k) => `${((x / tMax) * W).toFixed(1)},${(H - ((y[k] ?? 0) / yMax) * H).toFixed(1)}`)
    .join(' ');
  return `<polyline fill="none" stroke="${colour}" stroke-width="1.2" points="${points}"/>`;
}

function chart(title: string, t: number[], lines: [number[], string][], yMax: number, tMax: number): string {
  const max = yMax > 0 ? yMax : 1;
  return `<h3>${escapeHtml(title)}</h3>
<svg viewBox="0 0 ${W} ${H + 14}" width="${W}" height="${H + 14}" role="img" aria-label="${escapeHtml(title)}">
<line x1="0" y1="${H}" x2="${W}" y2="${H}" stroke="#ccc"/>
<text x="0" y="${H + 12}" font-size="10">0 s</text><text x="${W - 80}" y="${H + 12}" font-size="10">${tMax.toFixed(0)} s</text>
<text x="2" y="10" font-size="10">${max.toFixed(1)}</text>
${lines.map(([y, c]) => polyline(t, y, tMax, max, c)).join('\n')}
</svg>`;
}

/**
 * A self-contained HTML page (inline SVG, no scripts): per policy, priority-1 demand (in replicas' worth),
 * priority-1 and lower-priority replicas against the capacity; then every policy's priority-1 backlog.
 */
export function plotHtml(title: string, capacity: number, runs: readonly PlotRun[]): string {
  const tMax = Math.max(1, ...runs.map((r) => r.series.t.at(-1) ?? 0));
  const yMax = Math.max(capacity, ...runs.flatMap((r) => r.series.demand));
  const backlogMax = Math.max(0, ...runs.flatMap((r) => r.series.backlog));
  const capLine = (r: PlotRun): [number[], string] => [r.series.t.map(() => capacity), '#000'];
  const sections = runs.map((r) =>
    chart(
      `${r.name}: demand, priority-1 and priority-2 replicas (capacity ${capacity})`,
      r.series.t,
      [capLine(r), [r.series.demand, COLOURS.demand], [r.series.p1, COLOURS.p1], [r.series.p2, COLOURS.p2]],
      yMax,
      tMax,
    ),
  );
  const backlogs = runs.map((r) =>
    chart(
      `${r.name}: priority-1 backlog (units)`,
      r.series.t,
      [[r.series.backlog, COLOURS.backlog]],
      backlogMax,
      tMax,
    ),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1em 2em}h3{font-size:14px;margin:1em 0 .2em}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p><span style="color:${COLOURS.demand}">■ demand (replicas' worth)</span> · <span style="color:${COLOURS.p1}">■ priority-1 replicas</span> · <span style="color:${COLOURS.p2}">■ priority-2 replicas</span> · ■ capacity · <span style="color:${COLOURS.backlog}">■ backlog</span></p>
${sections.join('\n')}
${backlogs.join('\n')}
</body></html>
`;
}
