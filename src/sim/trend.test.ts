import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Trend } from './trend.js';

describe('Trend', () => {
  const cases: { name: string; window: number; samples: [number, number][]; ahead: number; want: number }[] =
    [
      { name: 'no samples: 0', window: 100, samples: [], ahead: 50, want: 0 },
      {
        name: 'two samples: the last, no slope',
        window: 100,
        samples: [
          [0, 1],
          [60, 3],
        ],
        ahead: 50,
        want: 3,
      },
      {
        name: 'under half the window: no slope',
        window: 100,
        samples: [
          [0, 1],
          [20, 2],
          [40, 3],
        ],
        ahead: 50,
        want: 3,
      },
      {
        name: 'a line: projected along it',
        window: 100,
        samples: [
          [0, 0],
          [25, 1],
          [50, 2],
        ],
        ahead: 50,
        want: 4,
      },
      {
        name: 'falling: the last sample',
        window: 100,
        samples: [
          [0, 4],
          [25, 3],
          [50, 2],
        ],
        ahead: 50,
        want: 2,
      },
      {
        name: 'flat: the last sample',
        window: 100,
        samples: [
          [0, 2],
          [25, 2],
          [50, 2],
        ],
        ahead: 50,
        want: 2,
      },
      {
        name: 'least squares through noise',
        window: 100,
        samples: [
          [0, 0],
          [25, 2],
          [50, 0],
          [75, 2],
        ],
        ahead: 100,
        // slope: Σdx·dy / Σdx² = (−37.5·−1 + −12.5·1 + 12.5·−1 + 37.5·1) / 3125 = 50 / 3125 = 0.016
        want: 2 + 1.6,
      },
      {
        name: 'samples older than the window are dropped',
        window: 100,
        samples: [
          [0, 100],
          [100, 0],
          [150, 1],
          [200, 2],
        ],
        ahead: 50,
        want: 3,
      },
    ];
  for (const c of cases)
    test(c.name, () => {
      const trend = new Trend(c.window);
      for (const [t, v] of c.samples) trend.add(t, v);
      assert.ok(Math.abs(trend.ahead(c.ahead) - c.want) < 1e-9, `${trend.ahead(c.ahead)} ≠ ${c.want}`);
    });
});
