import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../core/types.js';
import { LiveView } from './render.js';

function snapshot(services: number): Snapshot {
  return {
    time: '2026-01-01T12:34:56.000Z',
    name: 'shop',
    capacity: { replicas: 40, used: 40 },
    services: Array.from({ length: services }, (_, i) => ({
      name: `service-with-a-long-name-${i}`,
      priority: 1 + (i % 3),
      min: 0,
      max: 40,
      value: 1234.5,
      need: 4,
      desired: 4,
      running: 4,
      starting: 0,
      stopping: 0,
      warm: 0,
    })),
  };
}

/** What each redraw starts with: cursor home, clear the screen. */
const CLEAR = '\u001b[H\u001b[2J';

/** A terminal of a fixed size that keeps the last screen drawn. */
function terminal(columns: number, rows: number) {
  const out = {
    columns,
    rows,
    screen: '',
    write(text: string) {
      out.screen = text;
      return true;
    },
  };
  return out;
}

test('the live view fits a 60x15 terminal: title and table header stay, rows elided with "+N more"', () => {
  const term = terminal(60, 15);
  const view = new LiveView(term as unknown as NodeJS.WriteStream, 'microscaler shop');
  for (let i = 0; i < 8; i++) {
    view.event({
      kind: 'plan',
      time: '2026-01-01T12:34:56.000Z',
      message: `scale up something ${i} `.repeat(4),
    });
  }
  view.draw(snapshot(12), true);
  const lines = term.screen.replace(CLEAR, '').replace(/\n$/, '').split('\n');
  assert.ok(lines.length <= 14, `${lines.length} lines:\n${lines.join('\n')}`);
  for (const line of lines) assert.ok([...line].length <= 60, `too wide: ${line}`);
  assert.match(lines[0] as string, /^microscaler shop {3}capacity 40\/40/);
  assert.ok(
    lines.some((l) => /^service\s+prio/.test(l)),
    'the table header shows',
  );
  assert.ok(
    lines.some((l) => /^\+\d+ more services$/.test(l)),
    lines.join('\n'),
  );
});

test('on a roomy terminal nothing is cut', () => {
  const term = terminal(200, 60);
  const view = new LiveView(term as unknown as NodeJS.WriteStream, 'microscaler shop');
  view.draw(snapshot(3), true);
  assert.doesNotMatch(term.screen, /more|…/);
  assert.match(term.screen, /service-with-a-long-name-2/);
});
