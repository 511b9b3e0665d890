import { controllerPolicy, microscalerPolicy } from './microscaler.js';
import { force12Policy } from './peers/force12.js';
import { Hpa } from './peers/hpa.js';
import { Keda } from './peers/keda.js';
import { Kpa } from './peers/kpa.js';
import { Nomad } from './peers/nomad.js';
import { oraclePolicy } from './peers/oracle.js';
import { clusterPolicy, staticPolicy } from './peers/static-split.js';
import type { PolicyFactory } from './setup.js';

const bounds = (s: { min: number; max: number }) => ({ min: s.min, max: s.max });

/** Every policy `simulate` knows, by name, in the order reports list them. */
export const POLICIES: Readonly<Record<string, PolicyFactory>> = {
  microscaler: microscalerPolicy,
  hpa: clusterPolicy((s) => new Hpa(bounds(s))),
  keda: clusterPolicy((s) => new Keda(bounds(s))),
  kpa: clusterPolicy((s) => new Kpa(bounds(s))),
  nomad: clusterPolicy((s) => new Nomad(bounds(s))),
  force12: force12Policy(),
  static: staticPolicy,
  oracle: oraclePolicy,
  // microscaler through its real Controller and promises: the same decisions, several times slower.
  'microscaler-controller': controllerPolicy,
};

export const DEFAULT_POLICIES = ['microscaler', 'hpa', 'keda', 'kpa', 'nomad', 'force12', 'static', 'oracle'];
