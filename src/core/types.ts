// Domain types shared by every layer. Plain data only: no behaviour, no I/O.

/** What one replica of a service reserves. cpu in cores, memory in bytes; 0 when unset. */
export interface Resources {
  readonly cpu: number;
  readonly memory: number;
}

/** The budget a plan must fit. cpu and memory are only enforced when set. */
export interface Capacity {
  readonly replicas: number;
  readonly cpu?: number;
  readonly memory?: number;
}

/** How demand turns into need (replicas wanted if capacity were free). */
export type Rule =
  /** need = ceil(value / perReplica); 0 while value <= activation (scale to zero). */
  | { readonly type: 'target'; readonly perReplica: number; readonly activation: number }
  /**
   * Little's law: value is the backlog, rate the arrival rate (units/s). Enough replicas that, each serving
   * perReplicaRate units/s, keep up with arrivals and drain the backlog within drainSeconds.
   */
  | { readonly type: 'queue'; readonly perReplicaRate: number; readonly drainSeconds: number }
  /** All capacity that higher priorities leave (up to max). */
  | { readonly type: 'remainder' }
  /** A constant number of replicas. */
  | { readonly type: 'fixed'; readonly replicas: number };

/** What a replica is; each scheduler reads the fields it understands. */
export interface RunSpec {
  readonly command?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly image?: string;
  readonly workload?: string;
  readonly cpu?: number;
  readonly memory?: number;
  /** Milliseconds between SIGTERM and SIGKILL when a replica stops (DEFAULT_STOP_GRACE_MS where absent). */
  readonly stopGraceMs?: number;
  /** When the image is pulled (docker, swarm): at start-up always, only when missing, or never. */
  readonly pull?: 'always' | 'missing' | 'never';
  /** The process back-end's replica logs: cap, rotated files, and how long stopped replicas' logs stay. */
  readonly logs?: {
    readonly maxSize: number;
    readonly keep: number;
    readonly retentionMs: number;
    readonly keepStopped: number;
  };
  /** Told before each freeze of a replica (back-ends that freeze); absent = frozen without a word. */
  readonly freezeNotice?: FreezeNotice;
}

/**
 * How a replica is told it is about to be frozen, and how long it gets to let go of its work (a queue
 * consumer requeues what it holds). It is told again when it thaws: SIGCONT, or the same URL.
 */
export interface FreezeNotice {
  /** A signal name (`SIGUSR1`), or an http(s) URL POSTed to, with `{service}` and `{replica}` filled in. */
  readonly notify: string;
  /** The most a freeze waits after the notice; an HTTP answer (any 2xx) ends the wait sooner. */
  readonly graceMs: number;
}

/** A source's configuration: `type` picks the implementation, the rest is its settings. */
export interface SourceSpec {
  readonly type: string;
  readonly [setting: string]: unknown;
}

/** What the planner needs to know about a service. */
export interface ServicePolicy {
  readonly name: string;
  /** 1 = highest. */
  readonly priority: number;
  readonly min: number;
  readonly max: number;
  readonly rule: Rule;
  readonly resources: Resources;
  /** Scale-down waits until need has stayed lower for this long (ms). */
  readonly scaleDownWindowMs: number;
  /** Frozen replicas to keep ready, thawed first on scale-up (back-ends that freeze); 0 when absent. */
  readonly warm?: number;
  /** What happens to replicas a higher priority takes: stopped ('stop', when absent) or frozen. */
  readonly preempt?: 'stop' | 'freeze';
}

export interface ServiceSpec extends ServicePolicy {
  readonly run: RunSpec;
  /** Absent for rules that need no signal (remainder, fixed). */
  readonly source?: SourceSpec;
}

export interface SchedulerSpec {
  readonly type: string;
  readonly [setting: string]: unknown;
}

/** Where an HA lease lives (config `ha:`); src/ha/leases.ts builds the lease for each kind. */
export type HaStore =
  | { readonly type: 'redis'; readonly url: string }
  | { readonly type: 'postgres'; readonly url: string }
  | {
      readonly type: 'kubernetes';
      readonly namespace?: string;
      readonly kubeconfig?: string;
      readonly context?: string;
    };

/**
 * `capacity:` read live (issue 15) instead of fixed: from what the back-end's machines offer, or a source's
 * value. The controller reads it every tick (through its guard, which takes a drop below half only after
 * `confirmMs`).
 */
export type LiveCapacity = SchedulerCapacity | SourceCapacity;

/**
 * `capacity.autoscale`: the pressure signals' windows, and where requests for machines go (docs/capacity.md).
 * Absent: the signals are still computed (with the defaults) and shown, and nothing is asked.
 */
export interface AutoscaleSpec {
  /** The target's kind and settings, checked by the autoscale registry (`src/autoscale/`). */
  readonly target: { readonly type: string; readonly [setting: string]: unknown };
  /** k: the priorities whose unmet need asks for machines. */
  readonly upToPriority: number;
  readonly scaleOutAfterMs: number;
  readonly scaleInAfterMs: number;
  readonly cooldownMs: number;
  /** The most nodes one request asks for or gives back. */
  readonly maxStep: number;
  /** One node's size; read from the live capacity (capacity / nodes) where absent. */
  readonly node?: { readonly cpu: number; readonly memory: number; readonly replicas?: number };
}

/** `capacity: { from: scheduler, ... }`: cpu and memory are the machines' total less `reserve`. */
export interface SchedulerCapacity {
  readonly from: 'scheduler';
  /** Replicas: a fixed count, or `perNode` × the nodes counted. */
  readonly replicas: { readonly fixed: number } | { readonly perNode: number };
  /** Kept back from the machines' total (cores, bytes); 0 where not given. */
  readonly reserve: Resources;
  /** Labels a node must carry to count (back-ends with several nodes); absent = every node. */
  readonly nodes?: Readonly<Record<string, string>>;
  /** How long readings must say a drop to less than half before it is taken. */
  readonly confirmMs: number;
  /** How often it is read (at most once a tick). */
  readonly everyMs: number;
  readonly autoscale?: AutoscaleSpec;
}

/** `capacity: { source: {...}, ... }`: the source's value, floored, is the replica count. */
export interface SourceCapacity {
  readonly from: 'source';
  readonly source: SourceSpec;
  /** Fixed cpu and memory budgets beside the replicas read. */
  readonly cpu?: number;
  readonly memory?: number;
  readonly confirmMs: number;
  /** How often it is read (at most once a tick). */
  readonly everyMs: number;
  readonly autoscale?: AutoscaleSpec;
}

export interface Config {
  readonly name: string;
  /**
   * The fixed capacity. When `liveCapacity` is set: the least that can be in force once it is read (its
   * fixed replicas, or one node's `perNode`, or 1 for a source; cpu and memory where fixed), for what is
   * computed before any read (warnings, `plan`).
   */
  readonly capacity: Capacity;
  /** Set when capacity is read live; absent for a fixed `capacity`. */
  readonly liveCapacity?: LiveCapacity;
  readonly intervalMs: number;
  /** How long one source read may take before it counts as failed. */
  readonly readTimeoutMs: number;
  readonly scheduler: SchedulerSpec;
  readonly services: readonly ServiceSpec[];
  readonly api: { readonly token?: string };
}

/** One value read from a source. `at` is the clock time (ms) it describes. */
export interface Reading {
  readonly value: number;
  /** Arrival rate in units per second, where the source knows it. */
  readonly rate?: number;
  readonly at: number;
}

/** The outcome of reading a source: a value, or why there is none. Never a made-up value. */
export type SourceResult =
  | { readonly ok: true; readonly reading: Reading }
  | { readonly ok: false; readonly error: string };

/** Replicas of one service as the back-end reports them. */
export interface Observed {
  readonly running: number;
  readonly starting: number;
  readonly stopping: number;
  /** Frozen replicas, including frozen ones being removed (memory only). 0/absent on back-ends that cannot freeze. */
  readonly frozen?: number;
  /** Replicas being started to join the warm pool (count like starting for capacity, not toward active). */
  readonly warming?: number;
  /** Of the warming ones, those told of a freeze and still running in its grace: a scale-up takes them back. */
  readonly noticed?: number;
}

export const NONE_OBSERVED: Observed = Object.freeze({ running: 0, starting: 0, stopping: 0 });

/**
 * What a change of replicas (or a notable plan) is for. The first seven come from the planner, the rest from
 * the controller acting on what the back-end reports.
 */
export type ReasonCause =
  /** More replicas for what the rule asks (demand rose), possibly fewer than asked for lack of capacity. */
  | 'scale-up'
  /** More replicas because the service's min is above what the rule asks. */
  | 'min'
  /** A remainder service grows into capacity higher priorities leave. */
  | 'remainder'
  /** Fewer replicas: the need stayed lower for the whole scale-down window. */
  | 'scale-down'
  /** Fewer replicas because the service's max is below what the rule asks (a lowered max). */
  | 'max'
  /** Fewer replicas: capacity went to higher priorities. */
  | 'preempt'
  /** The source failed: the service is held at its need from before (never scaled on a missing signal). */
  | 'hold'
  /** Frozen replicas started from spare capacity to refill a warm pool. */
  | 'refill'
  /** Frozen replicas removed because their memory is needed. */
  | 'remove-frozen'
  /** Replicas started in place of ones that stopped (crashed, killed) while the plan stayed the same. */
  | 'replace'
  /** Replicas stopped because more run than planned (started outside, or a call that overshot). */
  | 'above-plan'
  /** Replicas of a service no longer in the config stopped. */
  | 'removed'
  /** Everything stopped because the instance exits (drain). */
  | 'exit';

/** Why: a cause for programs (metrics, event kinds) and the sentence people read (logs, events, the API). */
export interface Reason {
  readonly cause: ReasonCause;
  readonly text: string;
}

/** The decision for one service in one tick. */
export interface ServicePlan {
  readonly name: string;
  readonly priority: number;
  /** The signal the need came from; undefined when the rule has none or the source failed. */
  readonly value: number | undefined;
  /** Replicas the rule asks for (before stabilisation and capacity). */
  readonly need: number;
  /** Replicas this service should have. */
  readonly desired: number;
  /** Present when desired differs from what the service had, or when something notable happened. */
  readonly reason?: Reason;
  /** Set when the source failed and the service is held at its count. */
  readonly error?: string;
}

export interface Plan {
  readonly at: number;
  readonly services: readonly ServicePlan[];
}

/** One service as a running instance reports it (GET /api/state). */
export interface ServiceState {
  readonly name: string;
  readonly priority: number;
  readonly min: number;
  readonly max: number;
  readonly value: number | null;
  readonly need: number;
  readonly desired: number;
  readonly running: number;
  readonly starting: number;
  readonly stopping: number;
  /** Frozen replicas (warm pool and freeze-preempted ones): memory, no CPU; on back-ends that freeze. */
  readonly warm?: number;
  /** The text of the planner's reason (see `cause`). */
  readonly reason?: string;
  /** What the reason is for, beside it: programs read this, not the text. */
  readonly cause?: ReasonCause;
  /** The demand source's failure while it lasts; the service is held (never scaled down for it). */
  readonly error?: string;
  /** The back-end's failure to scale this service (rejected, or no answer in time) until a call succeeds. */
  readonly scaleError?: string;
}

/** What a running instance is doing, as of one moment. */
export interface Snapshot {
  /** ISO 8601. */
  readonly time: string;
  readonly name: string;
  readonly capacity: {
    readonly replicas: number;
    readonly used: number;
    readonly cpu?: number;
    readonly memory?: number;
  };
  readonly services: readonly ServiceState[];
  /**
   * Services the back-end still has replicas of but the config no longer names: what they hold (counted in
   * `capacity.used`), and whether they are kept running (`run --keep-removed`) or being stopped.
   */
  readonly removed?: readonly { readonly name: string; readonly replicas: number; readonly kept: boolean }[];
  /** Set while the back-end cannot be observed (error or no answer in time): nothing is planned meanwhile. */
  readonly schedulerError?: string;
  /**
   * Set while a live capacity reading is not taken (it failed, or is implausible: see docs/capacity.md); the
   * last good capacity holds meanwhile, or, before the first, nothing is planned.
   */
  readonly capacityError?: string;
  /** The pressure signals for VM autoscaling (issue 15), once a plan was made. */
  readonly pressure?: PressureSnapshot;
}

export type EventKind = 'plan' | 'scale' | 'error' | 'recovered' | 'replica';

/** Something that happened, with its reason. */
export interface ControllerEvent {
  readonly kind: EventKind;
  /** ISO 8601. */
  readonly time: string;
  readonly service?: string;
  readonly message: string;
}

/**
 * What a back-end's machines offer now, for `capacity: { from: scheduler }` (issue 15): the sum over the
 * nodes it counts (ready, schedulable, matching the node labels asked for).
 */
export interface ClusterResources {
  /** Cores. */
  readonly cpu: number;
  /** Bytes. */
  readonly memory: number;
  /** Nodes counted. */
  readonly nodes: number;
  /** Nodes left out and why, for people: "node n3 not ready". */
  readonly notes: readonly string[];
}

/** An amount of capacity in each dimension (replicas, cores, bytes). */
export interface Amount {
  readonly replicas: number;
  readonly cpu: number;
  readonly memory: number;
}

/** What microscaler asks VM autoscaling for (issue 15): machines for unmet need, or idle ones given back. */
export interface CapacityAsk {
  /** out: more machines; in: fewer. */
  readonly direction: 'out' | 'in';
  /** Nodes, where a node's size is known. */
  readonly nodes?: number;
  /** How much more (out) or less (in): positive amounts. */
  readonly want: Amount;
  readonly reason: string;
}

/** The pressure signals as a running instance reports them (GET /api/state `pressure`; docs/capacity.md). */
export interface PressureSnapshot {
  /** Priority 1..k need the plan could not give, and capacity free or held only by lower priorities. */
  readonly unmet: Amount;
  readonly idle: Amount;
  /** What of each has lasted its window (0 until then): what a request is made from. */
  readonly sustainedUnmet: Amount;
  readonly sustainedIdle: Amount;
  /** The last request to the autoscale target, and how it went. */
  readonly lastAsk?: { readonly time: string; readonly request: CapacityAsk; readonly outcome: string };
}

/** The one grace between SIGTERM and SIGKILL (`run.stopGrace` in the config), for every back-end. */
export const DEFAULT_STOP_GRACE_MS = 5000;
