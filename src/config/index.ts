// The config loader: YAML or JSON in, a validated Config out, or a ConfigError with every problem.

export { parseDuration, parseMemory } from '../core/units.js';
export { type Env, type Substituted, substituteEnv } from './env.js';
export {
  type LoadedConfig,
  loadConfig,
  type ParseOptions,
  parseConfig,
  type SettingsSchemas,
} from './load.js';
export {
  configSchema,
  type HaSettings,
  type RawConfig,
  type RawRule,
  type RawService,
  serviceSchema,
} from './schema.js';
export { configWarnings } from './warnings.js';
