// Runs every benchmark of this folder and prints its table: `npm run bench` (add `--quick` for a short run).
import { benchOverhead, overheadRows } from './overhead.js';
import { benchPlanner } from './planner.js';

const quick = process.argv.includes('--quick');

console.log('== planning time ==');
for (const churn of [0.05, 1]) {
  const { rows, p99At10k } = benchPlanner(churn);
  console.log(rows.join('\n'));
  console.log(
    `target p99 under 5 ms at 10,000 services: ${p99At10k < 5 ? 'met' : 'NOT met'} (${p99At10k.toFixed(2)} ms)\n`,
  );
}

console.log('== controller overhead ==');
const seconds = quick ? 5 : 30;
console.log(
  overheadRows([await benchOverhead(seconds, false), await benchOverhead(seconds, true)]).join('\n'),
);
