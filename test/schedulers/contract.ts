// What every back-end promises the controller, run against each one (like the sources' contract.ts): it
// scales up and down and observe() agrees with what really exists; a replica still stopping counts as held
// until it is gone; a restarted back-end adopts what runs and starts or stops nothing for it; and it never
// touches, counts or scales what is not ours. Each back-end's file calls schedulerContract() once, with the
// real thing where it runs here (process, Docker, Swarm) and a fake of the documented API elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TerminalError } from '../../src/core/errors.js';
import type { Scheduler } from '../../src/core/ports.js';
import type { Observed } from '../../src/core/types.js';

/** The service every case scales. */
export const SERVICE = 'web';

export interface Backend {
  /** Builds the back-end for SERVICE (again after a restart: the same instance, the same state). */
  scheduler(): Promise<Scheduler>;
  /**
   * Ids of SERVICE's replicas that exist now (starting, running or still stopping: anything that holds a
   * slot), read from the back-end's own truth (the engine, /proc, the fake's tasks), never from microscaler.
   */
  existing(): Promise<string[]>;
  /**
   * Makes things that are not ours beside SERVICE (another instance's replicas, an unlabelled look-alike);
   * the returned check fails the test unless each is still there as it was.
   */
  notOurs(): Promise<() => Promise<void>>;
  /**
   * Where the config names an object to scale (a Deployment, job, app, Swarm service): builds and uses a
   * back-end whose SERVICE object is not labelled as ours. It must be refused with a clear error, and the
   * check fails unless the object was left as it was.
   */
  unlabelled?(): Promise<{
    attempt(): Promise<unknown>;
    unchanged(): Promise<void>;
    /** The refusal is a TerminalError (asked once, never retried), not only an error. */
    readonly terminal: boolean;
  }>;
  /** Removes whatever the cases left (after all of them). */
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** How long a replica takes to start and be seen (default 20 s). */
  readonly timeoutMs?: number;
  /** The config names an object to scale (Backend.unlabelled is given): run the case for it. */
  readonly objects?: boolean;
}

const active = (o: Observed | undefined) => (o ? o.running + o.starting : 0);
const held = (o: Observed | undefined) => (o ? o.running + o.starting + o.stopping + (o.frozen ?? 0) : 0);

async function until(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function observed(s: Scheduler): Promise<Observed | undefined> {
  return (await s.observe(AbortSignal.timeout(10_000))).get(SERVICE);
}

/** Waits until the back-end shows `n` active and nothing else, and that many exist. */
async function settled(s: Scheduler, b: Backend, n: number, ms: number): Promise<void> {
  let last = '';
  await until(`${n} ${SERVICE} replicas (last: ${last})`, ms, async () => {
    const o = await observed(s);
    const e = await b.existing();
    last = `observed ${JSON.stringify(o)}, ${e.length} exist`;
    return o?.running === n && held(o) === n && e.length === n;
  });
}

export function schedulerContract(kind: string, make: () => Promise<Backend>, opts: ContractOptions = {}) {
  const ms = opts.timeoutMs ?? 20_000;

  test(`${kind}: scales up and down, and observe() agrees with what exists`, async () => {
    const b = await make();
    const s = await b.scheduler();
    try {
      await s.scale(SERVICE, 3, 'contract: up');
      await settled(s, b, 3, ms);
      await s.scale(SERVICE, 1, 'contract: down');
      await settled(s, b, 1, ms);
      await s.scale(SERVICE, 0, 'contract: none');
      await settled(s, b, 0, ms);
    } finally {
      await s.close();
      await b.cleanup();
    }
  });

  test(`${kind}: a replica still stopping counts as held until it is gone`, async () => {
    const b = await make();
    const s = await b.scheduler();
    try {
      await s.scale(SERVICE, 2, 'contract: up');
      await settled(s, b, 2, ms);
      await s.scale(SERVICE, 0, 'contract: down');
      // Replicas only go away from here, so what exists after an observation is at most what it saw.
      let sawStopping = false;
      let checks = 0;
      await until('every replica gone', ms, async () => {
        const o = await observed(s);
        const e = await b.existing();
        checks++;
        assert.ok(held(o) >= e.length, `observed ${JSON.stringify(o)} while ${e.length} existed`);
        assert.equal(active(o), 0, 'nothing active once scaled to 0');
        if ((o?.stopping ?? 0) > 0) sawStopping = true;
        return held(o) === 0 && e.length === 0;
      });
      assert.ok(sawStopping, `the stops were never seen in ${checks} observations (too fast to test?)`);
    } finally {
      await s.close();
      await b.cleanup();
    }
  });

  test(`${kind}: a restarted back-end adopts what runs, and starts or stops nothing for it`, async () => {
    const b = await make();
    let s = await b.scheduler();
    try {
      await s.scale(SERVICE, 2, 'contract: up');
      await settled(s, b, 2, ms);
      const before = (await b.existing()).sort();
      await s.close();
      s = await b.scheduler();
      assert.equal((await observed(s))?.running, 2, 'adopted at once');
      await s.scale(SERVICE, 2, 'contract: the same');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(active(await observed(s)), 2);
      assert.deepEqual((await b.existing()).sort(), before, 'the same replicas, none added or replaced');
      await s.scale(SERVICE, 0, 'contract: none');
      await settled(s, b, 0, ms);
    } finally {
      await s.close();
      await b.cleanup();
    }
  });

  test(`${kind}: never counts, stops or scales what is not ours`, async () => {
    const b = await make();
    const intact = await b.notOurs();
    const s = await b.scheduler();
    try {
      assert.equal(held(await observed(s)), 0, 'nothing of ours yet: what is not ours is not counted');
      await s.scale(SERVICE, 2, 'contract: up');
      await settled(s, b, 2, ms);
      await s.scale(SERVICE, 0, 'contract: none');
      await settled(s, b, 0, ms);
      await s.close();
      await intact();
    } finally {
      await s.close();
      await b.cleanup();
    }
  });

  if (!opts.objects) return;
  test(`${kind}: an object to scale that is not labelled as ours is refused and left as it is`, async () => {
    const b = await make();
    try {
      assert.ok(b.unlabelled, 'objects: true needs Backend.unlabelled');
      const u = await b.unlabelled();
      await assert.rejects(u.attempt(), (e: Error) => {
        assert.match(e.message, /label|tag|ours/i);
        if (u.terminal) assert.ok(e instanceof TerminalError, `${e.name}: ${e.message}`);
        return true;
      });
      await u.unchanged();
    } finally {
      await b.cleanup();
    }
  });
}
