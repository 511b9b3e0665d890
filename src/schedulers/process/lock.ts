// One live microscaler per state folder (without `ha:`): two instances on one folder would adopt, stop and
// restart each other's replicas and together exceed the capacity.
//
// Node has no flock(2). A listening unix socket in Linux's abstract namespace is the lock: a name binds once,
// the kernel frees it when the holder exits however it exits (kill -9 included), it leaves no file to go
// stale, and the holder answers whoever connects with its pid. Node opens sockets close-on-exec, so the
// replicas (which outlive microscaler on purpose) never inherit it. The name is a hash of the folder's real
// path, so two spellings of one folder are one lock. Limit: abstract names live in a network namespace; two
// instances in different network namespaces (containers) that share a mounted folder do not see each other.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';

/** What the holder tells whoever connects. */
export interface Holder {
  readonly pid: number;
  readonly instance: string;
}

/** How long the loser of a bind waits for the holder to say who it is. */
const ASK_MS = 2000;
/** A holder that is exiting frees the name a moment later: the bind is tried again this many times. */
const BIND_TRIES = 5;

/** Another live microscaler holds the state folder: exit status 2 from the CLI, like a config problem. */
export class StateDirInUseError extends ConfigError {
  constructor(
    readonly stateDir: string,
    readonly holder: Holder | undefined,
  ) {
    const who = holder
      ? `another microscaler (pid ${holder.pid}, instance "${holder.instance}")`
      : 'another microscaler';
    super([
      `scheduler.stateDir: ${stateDir} is in use by ${who}; stop it first, ` +
        'or add `ha:` to the config to run several instances of it (one acts, the others stand by), ' +
        'or give each config its own `name:` to run them apart',
    ]);
  }
}

/** The folder's real path (created if missing, so that later spellings resolve the same way). */
function canonical(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    return realpathSync(dir);
  } catch {
    return resolve(dir); // not usable: the scheduler says so when it needs the folder
  }
}

export function lockName(dir: string): string {
  const hash = createHash('sha256').update(canonical(dir)).digest('hex').slice(0, 40);
  return `\0microscaler-lock-${hash}`;
}

/** The held lock; release() frees it (exiting does too). */
export interface StateDirLock {
  release(): Promise<void>;
}

/** Takes the state folder's lock, or throws StateDirInUseError naming the holder's pid. */
export async function lockStateDir(dir: string, instance: string): Promise<StateDirLock> {
  const name = lockName(dir);
  const me: Holder = { pid: process.pid, instance };
  for (let attempt = 1; ; attempt++) {
    const server = await bind(name, me);
    if (server) {
      server.unref(); // the lock never keeps microscaler alive
      return { release: () => new Promise<void>((done) => server.close(() => done())) };
    }
    const holder = await ask(name);
    // Nobody answered: the holder exited between our bind and our question; try the name again.
    if (holder === 'gone' && attempt < BIND_TRIES) continue;
    throw new StateDirInUseError(resolve(dir), holder === 'gone' ? undefined : holder);
  }
}

/** Listens on the name: the server, or undefined when someone else holds it. */
function bind(name: string, me: Holder): Promise<Server | undefined> {
  return new Promise((done, fail) => {
    const server = createServer((socket) => {
      socket.on('error', () => {}); // a peer that hangs up early is no concern of the holder
      socket.end(`${JSON.stringify(me)}\n`);
    });
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') done(undefined);
      else fail(new Error(`cannot lock the state folder: ${error.message}`));
    });
    server.listen(name, () => done(server));
  });
}

/** Asks the holder who it is: its answer, 'gone' when nobody listens any more, undefined when it is mute. */
function ask(name: string): Promise<Holder | 'gone' | undefined> {
  return new Promise((done) => {
    let text = '';
    const socket = createConnection(name);
    socket.setTimeout(ASK_MS, () => {
      socket.destroy();
      done(undefined);
    });
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('end', () => {
      try {
        const holder = JSON.parse(text) as Holder;
        done(
          Number.isInteger(holder.pid) ? { pid: holder.pid, instance: String(holder.instance) } : undefined,
        );
      } catch {
        done(undefined);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      done(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'gone' : undefined);
    });
  });
}
