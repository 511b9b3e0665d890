// What every server-backed source promises about its connection, run against each kind: a clear error
// (without credentials) when the server is unreachable, a read that ends when its signal aborts, and a
// connection that comes back by itself. Each source's test file calls connectionContract() once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Source } from '../../src/core/ports.js';
import { blackHole, closedPort, errorOf, failed, liveContext, readUntil, TcpProxy } from './servers.js';

export const SECRET = 'hunter2-Sup3rSecret';

export interface ContractOptions {
  /** The real server's port, for the proxy. */
  readonly serverPort: number;
  /** Builds the source against 127.0.0.1:port; with `password`, the URL carries that password instead. */
  readonly build: (port: number, ctx: ReturnType<typeof liveContext>, password?: string) => Promise<Source>;
  /** What a healthy read gives (after setup), e.g. a value. */
  readonly healthy: (value: number) => boolean;
  /** Whether the source keeps a connection (the proxy test shows it reconnects); HTTP sources do per request. */
  readonly reconnects?: boolean;
}

export function connectionContract(kind: string, options: ContractOptions): void {
  test(`${kind}: an unreachable server is a clear error, never a value, and no credential leaks`, async () => {
    const ctx = liveContext();
    const source = await options.build(await closedPort(), ctx, SECRET);
    try {
      const first = await source.read(AbortSignal.timeout(3000));
      // Two reads: the second one may come from a different code path (backoff, client's reconnect loop).
      const second = await source.read(AbortSignal.timeout(3000));
      for (const result of [first, second]) {
        const error = errorOf(result);
        assert.match(error, new RegExp(`^${kind} `), 'the error says which source');
        assert.match(error, /ECONNREFUSED|refused|not connected|reconnecting/i);
        assert.ok(!error.includes(SECRET), `password in error: ${error}`);
      }
      for (const line of ctx.logger.lines) assert.ok(!line.includes(SECRET), `password in log: ${line}`);
    } finally {
      await source.close();
    }
  });

  test(`${kind}: a read against a server that never answers ends when its signal aborts`, async () => {
    const hole = await blackHole();
    const source = await options.build(hole.port, liveContext());
    try {
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const result = await source.read(AbortSignal.timeout(200));
        const took = Date.now() - started;
        assert.equal(result.ok, false, JSON.stringify(result));
        // Generous against a loaded machine, far below the source's own 2 s timeout.
        assert.ok(took < 1200, `read took ${took}ms after a 200ms signal`);
      }
    } finally {
      await source.close();
      await hole.close();
    }
  });

  if (options.reconnects === false) return;
  test(`${kind}: reconnects by itself when the server comes back`, async () => {
    const proxy = await TcpProxy.start(options.serverPort);
    const source = await options.build(proxy.port, liveContext());
    try {
      const ok = (r: Awaited<ReturnType<Source['read']>>) => r.ok && options.healthy(r.reading.value);
      await readUntil(source, ok, 'a value through the proxy');
      await proxy.cut();
      const down = await readUntil(source, failed, 'an error while the proxy is down');
      assert.match(errorOf(down), new RegExp(`^${kind} `));
      await proxy.restore();
      // Backoffs are capped at 1-2 s, so the value is back within a few seconds.
      await readUntil(source, ok, 'a value again after the proxy came back', 8000);
    } finally {
      await source.close();
      await proxy.cut();
    }
  });
}
