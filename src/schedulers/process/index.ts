// The process back-end's public face: what the registry, the CLI and the tests import from this folder.
export { isGroupStopped, readProcStat } from './proc.js';
export { defaultStateDir, type ReplicaRecord } from './records.js';
export type { ReplicaInfo, ReplicaState } from './replica.js';
export { ProcessScheduler, type ProcessSettings, processSettingsSchema } from './scheduler.js';
