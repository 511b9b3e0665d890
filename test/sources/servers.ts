// Helpers for tests against the real servers of this machine (and CI): reachability gates, a TCP proxy
// that can be cut and restored, a port nobody listens on, a server that accepts and never answers, polling.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import type { Logger } from '../../src/core/ports.js';
import type { SourceContext } from '../../src/core/registry.js';
import type { SourceResult } from '../../src/core/types.js';
import { systemClock } from '../../src/infra/system-clock.js';

const IN_CI = process.env.CI === 'true';

export function reachable(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `skip` for a suite that needs a server. Off CI a missing server skips the suite with a message; on CI
 * (CI=true) it never skips, and a test named after the server fails, so a missing server cannot pass.
 */
export async function serverGate(name: string, port: number): Promise<string | false> {
  if (await reachable(port)) return false;
  const message = `${name} is not reachable on 127.0.0.1:${port}`;
  if (IN_CI) {
    test(`${name} is reachable on 127.0.0.1:${port}`, () => assert.fail(`${message} (CI=true: required)`));
    return false;
  }
  return `${message}; start it to run these tests (they fail instead of skipping when CI=true)`;
}

/** A name no other test run uses, for keys, queues, streams and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/** A port that was free a moment ago and has nobody listening. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says a word: reads against it can only end by timeout. */
export async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP proxy to a real server on a fixed local port. cut() closes it and every connection through it
 * (the server looks down to the client); restore() listens again on the same port.
 */
export class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(readonly target: number) {}

  static async start(target: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.restore();
    return proxy;
  }

  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect({ port: this.target, host: '127.0.0.1' });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
        s.on('close', () => this.#sockets.delete(s));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A logger that keeps every line, so tests can check what was (and was not) logged. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log(level, message, fields) {
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    },
  };
}

/** A SourceContext on the wall clock, with a recording logger. */
export function liveContext(): SourceContext & { logger: ReturnType<typeof recordingLogger> } {
  return { clock: systemClock, logger: recordingLogger(), service: 'web', baseDir: process.cwd() };
}

/** A generous per-read signal: the source's own timeout or the server ends a read long before this. */
export const readSignal = () => AbortSignal.timeout(5000);

/**
 * Reads until `check` accepts the result, or fails at the deadline with the last result. Servers that
 * publish statistics periodically (RabbitMQ's management API) need the long deadlines.
 */
export async function readUntil(
  source: { read(signal: AbortSignal): Promise<SourceResult> },
  check: (result: SourceResult) => boolean,
  what: string,
  deadlineMs = 5000,
): Promise<SourceResult> {
  const end = Date.now() + deadlineMs;
  let last: SourceResult | undefined;
  while (Date.now() < end) {
    last = await source.read(readSignal());
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: not seen within ${deadlineMs}ms; last result ${JSON.stringify(last)}`);
}

export const valueIs = (n: number) => (r: SourceResult) => r.ok && r.reading.value === n;
export const failed = (r: SourceResult) => !r.ok;

/** Polls until fn returns a truthy value, or fails at the deadline. */
export async function eventually<T>(fn: () => T | Promise<T>, what: string, deadlineMs = 5000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${what}: not true within ${deadlineMs}ms (last: ${JSON.stringify(last)})`);
}

/** The error of a failed result, or a test failure. */
export function errorOf(result: SourceResult): string {
  assert.equal(result.ok, false, `expected a failure, got ${JSON.stringify(result)}`);
  return result.ok ? '' : result.error;
}
