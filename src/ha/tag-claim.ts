// An instance's claim kept in one tag (ECS: a tag on the cluster), for back-ends whose API offers no
// compare-and-set. Weaker than the others: writes are last-writer-wins. A writer reads its tag back after
// writing and holds the claim only if it reads its own holder id, and every renewal reads before it writes,
// so of two instances that write at once, the one overwritten finds out at its next renewal (within ttl/3)
// and stops acting; until then both may act. Expiry and liveness as every claim (src/ha/claim.ts).

import { type Claim, SeenRecord } from './claim.js';
import { newHolderId } from './redis-lease.js';

/** Reads and writes the tag's value; undefined when there is no such tag. */
export interface TagStore {
  read(signal: AbortSignal): Promise<string | undefined>;
  write(value: string, signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface TagClaimOptions {
  readonly store: TagStore;
  readonly where: string;
  readonly ttlMs: number;
  /** Defaults to `${hostname}:${pid}:${random}`. */
  readonly id?: string;
  /** Milliseconds from a monotonic clock; performance.now() by default. */
  readonly timer?: () => number;
}

export class TagClaim implements Claim {
  readonly id: string;
  readonly where: string;
  private readonly opts: TagClaimOptions;
  private readonly seen: SeenRecord;
  private beats = 0;

  constructor(options: TagClaimOptions) {
    this.opts = options;
    this.id = options.id ?? newHolderId();
    this.where = options.where;
    this.seen = new SeenRecord(this.id, options.timer);
    if (/\s/.test(this.id)) throw new RangeError('a holder id must not contain spaces');
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const holder = await this.read(signal);
    if (holder !== null && holder !== this.id && !this.seen.expired(this.opts.ttlMs)) return false;
    return this.write(signal);
  }

  async renew(signal: AbortSignal): Promise<boolean> {
    if ((await this.read(signal)) !== this.id) return false;
    return this.write(signal);
  }

  async release(): Promise<void> {
    const signal = AbortSignal.timeout(2000);
    if ((await this.read(signal)) === this.id) await this.opts.store.write('', signal);
  }

  async holder(signal: AbortSignal): Promise<string | null> {
    const holder = await this.read(signal);
    if (holder === null) return null;
    return holder === this.id || !this.seen.expired(this.opts.ttlMs) ? holder : null;
  }

  aliveHolder(): string | undefined {
    return this.seen.aliveHolder();
  }

  async close(): Promise<void> {
    this.opts.store.close();
  }

  /** Writes our holder id with a new beat, then reads it back: ours only if nobody wrote after us. */
  private async write(signal: AbortSignal): Promise<boolean> {
    await this.opts.store.write(`${this.id} ${++this.beats}`, signal);
    return (await this.read(signal)) === this.id;
  }

  /** The holder in the tag ("<holder> <beat>"), null when empty; notes the value as the record. */
  private async read(signal: AbortSignal): Promise<string | null> {
    const value = (await this.opts.store.read(signal)) ?? '';
    const holder = value.split(' ')[0] || null;
    this.seen.note(value, holder);
    return holder;
  }
}
