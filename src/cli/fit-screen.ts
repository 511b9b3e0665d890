// The live view on a small terminal: what does not fit is cut, never scrolled (a screen that scrolls loses
// its title and its table's header, and the next redraw starts in the middle of the old one).

/** One part of the screen; `keep` lines are shown before any other part's, the rest may be elided. */
export interface ScreenPart {
  readonly lines: readonly string[];
  /** Lines that always show while the part shows (a table's header). */
  readonly keep?: number;
  /** What stands for the lines left out: "+N more" by default. */
  readonly more?: (hidden: number) => string;
  /** Keep the last lines rather than the first (the newest events), the "+N more" line above them. */
  readonly tail?: boolean;
}

/**
 * The parts, top to bottom, within `rows` lines of `columns` characters: each line is cut to the width
 * (ending in …), parts later in the list give way first (whole, then line by line with "+N more"), and a
 * blank separator line goes before anything else.
 */
export function fitScreen(parts: readonly ScreenPart[], columns: number, rows: number): string[] {
  const width = Math.max(1, Math.floor(columns));
  const height = Math.max(1, Math.floor(rows));
  const out: string[] = [];
  let left = height;
  for (const [i, part] of parts.entries()) {
    if (left <= 0) break;
    // A blank line between parts only where there is room for it and at least one line after it.
    if (i > 0 && out.length > 0 && left >= 2) {
      out.push('');
      left--;
    }
    const lines = part.lines;
    if (lines.length <= left) {
      out.push(...lines);
      left -= lines.length;
      continue;
    }
    const keep = Math.min(part.keep ?? 0, left);
    const room = left - keep;
    const more = part.more ?? ((n: number) => `+${n} more`);
    if (room <= 0) {
      out.push(...lines.slice(0, keep));
    } else {
      const hidden = lines.length - keep - (room - 1);
      if (part.tail) out.push(...lines.slice(0, keep), more(hidden), ...lines.slice(keep + hidden));
      else out.push(...lines.slice(0, keep), ...lines.slice(keep, keep + room - 1), more(hidden));
    }
    left = 0;
  }
  return out.map((line) => cut(line, width));
}

function cut(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}
