// What `run` and `demo` show: a live table on a terminal, one line per change otherwise.
import type { ControllerEvent, Snapshot } from '../core/types.js';
import { fitScreen, type ScreenPart } from './fit-screen.js';

const COLUMNS = [
  'service',
  'prio',
  'value',
  'need',
  'desired',
  'running',
  'starting',
  'stopping',
  'warm',
] as const;

/** The services of a snapshot as an aligned text table. */
export function table(snapshot: Snapshot): string {
  const rows = snapshot.services.map((s) => [
    s.name,
    String(s.priority),
    s.value === null ? '-' : formatValue(s.value),
    String(s.need),
    String(s.desired),
    String(s.running),
    String(s.starting),
    String(s.stopping),
    String(s.warm ?? 0),
  ]);
  const all = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
        .join('  '),
    )
    .join('\n');
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** One bar per service: █ running, ▒ starting, ░ stopping, ❄ frozen (memory only), then free capacity as dots. */
export function bars(snapshot: Snapshot): string {
  const width = Math.max(...snapshot.services.map((s) => s.name.length));
  const lines = snapshot.services.map((s) => {
    const bar =
      '█'.repeat(s.running) + '▒'.repeat(s.starting) + '░'.repeat(s.stopping) + '❄'.repeat(s.warm ?? 0);
    return `${s.name.padEnd(width)} ${bar}`;
  });
  const free = Math.max(0, snapshot.capacity.replicas - snapshot.capacity.used);
  lines.push(`${'free'.padEnd(width)} ${'·'.repeat(Math.min(free, 200))}`);
  return lines.join('\n');
}

export function eventLine(e: ControllerEvent): string {
  return `${e.time.slice(11, 23)} ${e.kind.padEnd(9)} ${e.message}`;
}

/** Redraws the whole screen at most every `everyMs`, with the latest events below the table. */
export class LiveView {
  private readonly events: string[] = [];
  private last = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly title: string,
    private readonly everyMs = 200,
  ) {}

  event(e: ControllerEvent): void {
    this.events.push(eventLine(e));
    if (this.events.length > 8) this.events.shift();
  }

  draw(snapshot: Snapshot, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < this.everyMs) return;
    this.last = now;
    const cap = snapshot.capacity;
    const title = `${this.title}   capacity ${cap.used}/${cap.replicas}   ${snapshot.time.slice(11, 19)}   (Ctrl-C to stop)`;
    // Fitted to the terminal (80x24 when it does not say): the title and the table's header always show.
    const parts: ScreenPart[] = [
      { lines: [title], keep: 1 },
      ...(snapshot.schedulerError === undefined ? [] : [{ lines: [`back-end: ${snapshot.schedulerError}`] }]),
      ...(snapshot.capacityError === undefined ? [] : [{ lines: [`capacity: ${snapshot.capacityError}`] }]),
      { lines: table(snapshot).split('\n'), keep: 1, more: (n: number) => `+${n} more services` },
      { lines: bars(snapshot).split('\n') },
      { lines: this.events, tail: true, more: (n: number) => `+${n} earlier events` },
    ];
    // The last line stays empty: writing the bottom-right corner would scroll some terminals.
    const screen = fitScreen(parts, this.out.columns || 80, (this.out.rows || 24) - 1).join('\n');
    this.out.write(`\x1b[H\x1b[2J${screen}\n`);
  }
}
