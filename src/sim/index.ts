export { type BuildInput, buildSetup, stepFor } from './build.js';
export { DemandReplay, type TraceColumn } from './demand.js';
export { type PlotRun, plotHtml } from './plot.js';
export { DEFAULT_POLICIES, POLICIES } from './policies.js';
export { DOCKER_START, DOCKER_STOP, type Duration, describeDuration } from './random.js';
export { lowerIsBetter, ratio, SCORE_NAMES, type Scores } from './scores.js';
export type { Policy, PolicyFactory, SimService, SimSetup } from './setup.js';
export { runSimulation, type Series, type SimResult } from './simulation.js';
