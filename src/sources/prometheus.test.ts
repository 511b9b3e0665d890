import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fakeContext } from '../../test/fixtures/sources/context.js';
import { connectionContract } from '../../test/sources/contract.js';
import {
  prometheusInstalled,
  startPrometheus,
  type TestPrometheus,
} from '../../test/sources/prometheus-server.js';
import { errorOf, liveContext, readSignal, readUntil, valueIs } from '../../test/sources/servers.js';
import { ConfigError } from '../core/errors.js';
import type { SourceSpec } from '../core/types.js';
import { createSource } from './registry.js';

const installed = prometheusInstalled();
const skip =
  installed || process.env.CI === 'true'
    ? false
    : 'prometheus is not installed (run .ci/setup-prometheus.sh); these tests fail instead of skipping when CI=true';

test('prometheus: bad settings are config errors that name the field', async () => {
  const cases: [SourceSpec, string[]][] = [
    [{ type: 'prometheus', url: 'http://127.0.0.1:9090' }, ['source.query: expected a PromQL query']],
    [{ type: 'prometheus', url: 'http://127.0.0.1:9090', query: '' }, ['source.query: must not be empty']],
    [
      { type: 'prometheus', url: '127.0.0.1:9090', query: 'up' },
      ['source.url: must be a http:// or https:// URL with a host'],
    ],
    [
      { type: 'prometheus', url: 'http://h', query: 'up', headers: { a: 1 } },
      ['source.headers.a: expected string, received number'],
    ],
  ];
  for (const [spec, problems] of cases) {
    await assert.rejects(createSource(spec, fakeContext()), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.problems, problems);
      return true;
    });
  }
});

// A proxy in front of Prometheus that sends the client elsewhere (a login page, a moved host): two local
// servers on two ports, two origins. Real Prometheus is not needed to see where the headers go.
test('prometheus: a redirect to another origin is refused, or followed without the headers', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  };
  const elsewhere = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [0, '4'] } }));
  });
  const target = await listen(elsewhere);
  const proxy = createServer((req, res) => {
    res.writeHead(302, { location: `${target}${req.url}` });
    res.end();
  });
  const proxyUrl = await listen(proxy);
  const read = async (extra: Record<string, unknown>) => {
    const source = await createSource(
      {
        type: 'prometheus',
        url: proxyUrl,
        query: 'vector(4)',
        headers: { Authorization: 'Bearer tok-5566' },
        ...extra,
      },
      liveContext(),
    );
    try {
      return await source.read(readSignal());
    } finally {
      await source.close();
    }
  };
  try {
    assert.match(
      errorOf(await read({})),
      /redirects to another origin, http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query; not followed/,
    );
    assert.equal(seen.length, 0);
    const followed = await read({ followRedirects: true });
    assert.deepEqual(followed.ok && followed.reading.value, 4, JSON.stringify(followed));
    assert.equal(seen[0]?.authorization, undefined, 'the token went to the other origin');
  } finally {
    for (const server of [proxy, elsewhere]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
});

describe('prometheus against a real Prometheus', { skip }, () => {
  let prom: TestPrometheus;
  before(async () => {
    prom = await startPrometheus();
  });
  after(async () => {
    await prom?.stop();
  });

  test('the value tracks a scraped gauge as the queue behind it grows and drains', async () => {
    const source = await createSource(
      { type: 'prometheus', url: prom.url, query: 'ms_test_queue_depth', timeout: '3s' },
      liveContext(),
    );
    try {
      // Scraped every second: each change shows within a few seconds.
      for (const depth of [0, 120, 35, 0]) {
        prom.setDepth(depth);
        await readUntil(source, valueIs(depth), `depth ${depth}`, 10_000);
      }
    } finally {
      await source.close();
    }
  });

  test('rateQuery: arrivals per second as Prometheus computes them', async () => {
    const source = await createSource(
      {
        type: 'prometheus',
        url: prom.url,
        query: 'ms_test_queue_depth',
        rateQuery: 'sum(rate(ms_test_jobs_total[5s]))',
      },
      liveContext(),
    );
    const timer = setInterval(() => prom.addJobs(10), 100); // about 100 jobs/s
    try {
      const r = await readUntil(
        source,
        (x) => x.ok && (x.reading.rate ?? 0) > 40,
        'a rate near 100/s',
        15_000,
      );
      assert.ok(r.ok && r.reading.rate !== undefined && r.reading.rate < 200, JSON.stringify(r));
    } finally {
      clearInterval(timer);
      await source.close();
    }
  });

  test('an empty result is "no data", not 0; bad queries and shapes are clear errors', async () => {
    const cases: [string, RegExp][] = [
      ['ms_test_queue_depth{job="nobody"}', /returned no data \(empty result\)/],
      ['sum(', /bad query "sum\(": .*parse error/],
      ['up', /returned 2 series; it must return one \(aggregate it, e\.g\. sum\(\.\.\.\)\)/],
      ['up[1m]', /gives a matrix; it must give a scalar or one series/],
      ['-1 * vector(3)', /is -3; demand cannot be negative/],
      ['vector(0) / 0', /result is "NaN", not a number/],
    ];
    for (const [query, message] of cases) {
      const source = await createSource({ type: 'prometheus', url: prom.url, query }, liveContext());
      try {
        assert.match(errorOf(await source.read(readSignal())), message, query);
      } finally {
        await source.close();
      }
    }
    const scalar = await createSource(
      { type: 'prometheus', url: prom.url, query: 'scalar(count(up))' },
      liveContext(),
    );
    try {
      await readUntil(scalar, valueIs(2), 'a scalar result');
    } finally {
      await scalar.close();
    }
  });

  test('a URL that is not Prometheus is a clear error', async () => {
    const source = await createSource(
      { type: 'prometheus', url: `${prom.url}/graph/`, query: 'up' },
      liveContext(),
    );
    try {
      assert.match(
        errorOf(await source.read(readSignal())),
        /HTTP 404|not JSON|not a Prometheus query response/,
      );
    } finally {
      await source.close();
    }
  });

  connectionContract('prometheus', {
    get serverPort() {
      return Number(new URL(prom.url).port);
    },
    build: (port, ctx, password) =>
      createSource(
        {
          type: 'prometheus',
          url: `http://${password ? `admin:${password}@` : ''}127.0.0.1:${port}`,
          query: 'vector(3)',
        },
        ctx,
      ),
    healthy: (value) => value === 3,
  });
});
