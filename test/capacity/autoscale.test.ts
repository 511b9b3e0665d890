// End to end: an instance on the process back-end, its capacity read from an HTTP budget (2 replicas), its
// web need above it for longer than scaleOutAfter, asks its webhook (a real server on 127.0.0.1) once for
// more machines; in the cooldown it does not ask again; the request is in /api/state's pressure.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { autoscaleSchemas } from '../../src/autoscale/registry.js';
import { startInstance } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/infra/system-clock.js';
import { resourceSchedulers, schedulerSchemas } from '../../src/schedulers/registry.js';
import { isPushSource } from '../../src/sources/push.js';
import { sourceSchemas } from '../../src/sources/registry.js';

test('sustained unmet need asks the webhook once, with the documented body; the cooldown holds', async () => {
  const posts: { auth: string | undefined; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      if (req.url === '/budget') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"replicas":2}');
        return;
      }
      posts.push({ auth: req.headers.authorization, body: JSON.parse(text) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const name = `autoscale-${process.pid}-${Date.now().toString(36)}`;
  const yaml = `
name: ${name}
capacity:
  source: { type: http, url: "${base}/budget", path: replicas }
  autoscale:
    target: { type: webhook, url: "${base}/scale", token: t0ken }
    scaleOutAfter: 1s
    cooldown: 1m
    node: { cpu: 4, memory: 8Gi, replicas: 2 }
interval: 100ms
scheduler: { type: process }
services:
  web:
    priority: 1
    min: 1
    max: 10
    run: { command: [sleep, "60"], stopGrace: 1s }
    demand: { source: { type: push }, rule: { type: target, perReplica: 10 } }
`;
  const config = parseConfig(yaml, {
    file: 'autoscale.yaml',
    sourceSchemas,
    schedulerSchemas,
    resourceSchedulers,
    autoscaleSchemas,
    env: {},
  });
  const instance = await startInstance({
    config,
    clock: systemClock,
    logger: { log() {} },
    baseDir: process.cwd(),
  });
  try {
    const source = instance.sources.get('web');
    assert.ok(source && isPushSource(source));
    source.push(60); // web needs 6; the budget holds 2
    const end = Date.now() + 15_000;
    while (posts.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(posts.length, 1, 'asked once');
    const post = posts[0];
    assert.equal(post?.auth, 'Bearer t0ken');
    assert.equal(post?.body.instance, name);
    assert.equal(post?.body.direction, 'out');
    assert.deepEqual(post?.body.want, { nodes: 1, replicas: 2, cpu: 0, memory: 0 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(posts.length, 1, 'not again in the cooldown');
    const pressure = instance.controller.snapshot().pressure;
    assert.equal(pressure?.unmet.replicas, 4);
    assert.equal(pressure?.lastAsk?.outcome, 'taken');
  } finally {
    await instance.close({ drain: true });
    server.close();
  }
});
