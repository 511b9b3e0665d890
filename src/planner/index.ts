export { type AdmitService, admit } from './admit.js';
export {
  admitFrozen,
  type FrozenAdmitService,
  type FrozenObserved,
  type FrozenTarget,
} from './admit-frozen.js';
export { allocate, Claims } from './allocate.js';
export { explainNeed, ruleNeed } from './need.js';
export {
  byPriority,
  EMPTY_MEMORY,
  type PlanInput,
  type PlannerMemory,
  type PlanResult,
  plan,
} from './plan.js';
