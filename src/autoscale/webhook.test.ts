// The webhook target against a real HTTP server on 127.0.0.1: the body and token it receives, retries while
// asking again may help, none when it cannot, and no token in any error.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TerminalError, TransientError } from '../core/errors.js';
import type { CapacityAsk } from '../core/types.js';
import { type WebhookBody, WebhookTarget, webhookSettingsSchema } from './webhook.js';

const TOKEN = 's3cret-webhook-token';
const ask: CapacityAsk = {
  direction: 'out',
  nodes: 2,
  want: { replicas: 6, cpu: 7.5, memory: 3 * 2 ** 30 },
  reason: 'unmet need of 6 replicas has lasted its window',
};

describe('webhook autoscale target (real HTTP server)', () => {
  let server: Server;
  let url = '';
  const got: { headers: IncomingMessage['headers']; body: WebhookBody }[] = [];
  /** Statuses to answer with, in order; 200 once they run out. */
  const answers: number[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        got.push({ headers: req.headers, body: JSON.parse(text) as WebhookBody });
        const status = answers.shift() ?? 200;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message: `said ${status}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scale`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const noWait = { sleep: async () => {}, now: () => Date.UTC(2026, 11, 8) };
  const target = (extra: Record<string, unknown> = {}) =>
    new WebhookTarget(webhookSettingsSchema.parse({ type: 'webhook', url, token: TOKEN, ...extra }), noWait);

  test('POSTs the documented body with the token as a Bearer header', async () => {
    got.length = 0;
    await target().ask('shop', ask, AbortSignal.timeout(5000));
    assert.equal(got.length, 1);
    assert.equal(got[0]?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(got[0]?.headers['content-type'], 'application/json');
    assert.deepEqual(got[0]?.body, {
      instance: 'shop',
      direction: 'out',
      want: { nodes: 2, replicas: 6, cpu: 7.5, memory: 3 * 2 ** 30 },
      reason: ask.reason,
      time: '2026-12-08T00:00:00.000Z',
    });
  });

  test('a header name of its own carries the token as it is', async () => {
    got.length = 0;
    await target({ header: 'X-Scale-Token' }).ask('shop', ask, AbortSignal.timeout(5000));
    assert.equal(got[0]?.headers['x-scale-token'], TOKEN);
    assert.equal(got[0]?.headers.authorization, undefined);
  });

  test('503 and 429 are retried with backoff until it takes', async () => {
    got.length = 0;
    answers.push(503, 429);
    const waits: number[] = [];
    const t = new WebhookTarget(webhookSettingsSchema.parse({ type: 'webhook', url }), {
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await t.ask('shop', ask, AbortSignal.timeout(5000));
    assert.equal(got.length, 3);
    assert.deepEqual(waits, [500, 1000]);
  });

  test('it gives up after its attempts with a TransientError; a 401 is not retried (TerminalError)', async () => {
    got.length = 0;
    answers.push(500, 500);
    await assert.rejects(target({ attempts: 2 }).ask('shop', ask, AbortSignal.timeout(5000)), (e: Error) => {
      assert.ok(e instanceof TransientError);
      assert.match(e.message, /HTTP 500: said 500/);
      assert.ok(!e.message.includes(TOKEN));
      return true;
    });
    assert.equal(got.length, 2);
    got.length = 0;
    answers.push(401);
    await assert.rejects(target().ask('shop', ask, AbortSignal.timeout(5000)), TerminalError);
    assert.equal(got.length, 1, 'asked once');
    answers.length = 0;
  });

  test('an unreachable webhook is a TransientError without the token or userinfo', async () => {
    const t = new WebhookTarget(
      webhookSettingsSchema.parse({
        type: 'webhook',
        url: 'http://user:pw-in-url@127.0.0.1:9/x',
        token: TOKEN,
        attempts: 1,
      }),
      noWait,
    );
    await assert.rejects(t.ask('shop', ask, AbortSignal.timeout(5000)), (e: Error) => {
      assert.ok(e instanceof TransientError);
      assert.ok(!e.message.includes(TOKEN) && !e.message.includes('pw-in-url'), e.message);
      return true;
    });
  });

  test('settings: a URL that is not http(s) is refused', () => {
    assert.equal(webhookSettingsSchema.safeParse({ type: 'webhook', url: 'ftp://x/y' }).success, false);
  });
});
