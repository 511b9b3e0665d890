// @ts-check
// The live dashboard. Plain JavaScript served as is (no build step); tsc checks it against the DOM and core's
// types through the JSDoc annotations (src/dashboard/tsconfig.json). Everything comes from the server's own
// routes: GET /api/events (state every half second, and events), GET /api/state while the server refuses
// the stream, and POST /api/services/NAME/demand, .../pause and .../resume.
// The parts, one job each: stream.js (the connection), panels.js (header, legend, table, events), chart.js,
// demand.js (demand by hand), write.js (changes and the token), page.js (the state and helpers they share).
import { drawChart } from './chart.js';
import { connect } from './stream.js';

window.addEventListener('resize', () => drawChart());
connect();
