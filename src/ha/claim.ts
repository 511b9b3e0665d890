// An instance's claim on its name in a shared back-end (docker engine, swarm, cluster API) when `ha:` is not
// configured: a lease that only one holder renews, so that a second `run` of the same instance (another
// terminal, a forgotten background run) refuses to act instead of fighting the first over the replicas.
//
// Expiry follows client-go's leader election (src/ha/kube-lease.ts): a claim of another holder counts as
// expired when its record has not changed for the ttl on THIS process's monotonic clock since it was last
// seen changing; timestamps written by other hosts are never compared with ours. A holder renews every
// ttl/3 and stops acting ttl − margin after its last successful renewal was sent (controller/leadership.ts),
// so it stops before anyone else can count its claim expired.

import type { Leadership, Lease } from '../controller/leadership.js';

/** The claim's default time to live: a holder killed with -9 blocks a restart for about this long. */
export const CLAIM_TTL_MS = 10_000;

export interface Claim extends Lease {
  /** Where the claim is kept, for messages: `docker volumes microscaler-claim.shop.* on unix:///...`. */
  readonly where: string;
  /** Another holder whose claim this instance saw renewed (it is alive), or undefined. */
  aliveHolder(): string | undefined;
}

/**
 * The last record of a claim as seen, and when (monotonic) it changed: the expiry and liveness judgement
 * every claim kind shares.
 */
export class SeenRecord {
  private last: { record: string; holder: string | null; at: number } | undefined;
  private alive: string | undefined;

  constructor(
    private readonly self: string,
    private readonly timer: () => number = () => performance.now(),
  ) {}

  /** Notes the record as read now; a change under another holder proves that holder alive. */
  note(record: string, holder: string | null): void {
    if (this.last?.record === record) return;
    const before = this.last;
    this.last = { record, holder, at: this.timer() };
    if (before !== undefined && holder !== null && holder !== this.self) this.alive = holder;
  }

  /** A claim left unchanged for ttlMs since we saw it change (false before anything was seen). */
  expired(ttlMs: number): boolean {
    return this.last !== undefined && this.timer() - this.last.at >= ttlMs;
  }

  aliveHolder(): string | undefined {
    return this.alive;
  }
}

export type ClaimOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly holder: string | null; readonly failure?: string };

/**
 * Waits, at start-up, until this instance holds its claim, or another holder has shown it is alive (its
 * claim was renewed: answered within about ttl/3), or `deadlineMs` passed (a claim that neither expires nor
 * changes, or a back-end that does not answer). A dead holder's claim expires after the ttl, so an instance
 * restarted after kill -9 takes over in about ttl.
 */
export async function awaitClaim(
  leadership: Leadership,
  claim: Claim,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<ClaimOutcome> {
  const until = performance.now() + deadlineMs;
  while (performance.now() < until && !signal?.aborted) {
    if (leadership.isLeader()) return { ok: true };
    const alive = claim.aliveHolder();
    if (alive !== undefined) return { ok: false, holder: alive };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (leadership.isLeader()) return { ok: true };
  const failure = leadership.lastFailure();
  return { ok: false, holder: leadership.state().holder, ...(failure ? { failure } : {}) };
}

/** Why an instance cannot act: its name is claimed by another live holder. Exit status 2 from the CLI. */
export class ClaimedError extends Error {
  override readonly name = 'ClaimedError';
  constructor(instance: string, holder: string | null, where: string, failure?: string) {
    const why = failure
      ? `could not take its claim: ${failure}`
      : 'could not take its claim in time (is another instance of it running?)';
    super(
      `instance "${instance}" ${holder ? `is already running: held by ${holder}` : why} ` +
        `(${where}). Stop that one first; to run several of one instance use ha: (one acts, the others ` +
        'stand by), or give this config its own name: to run it apart.',
    );
  }
}
