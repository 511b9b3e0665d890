// Runtime changes (PATCH, pause, resume) and write auth, through the real HTTP server and a real controller.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError, start } from '../../test/fixtures/api/live-server.js';

describe('runtime changes', () => {
  test('PATCH changes min, max, priority; the next plan uses them; GET shows the service', async (t) => {
    const { send, tick } = await start(t);
    await tick();
    const res = await send('PATCH', '/api/services/web', '{"max": 2, "priority": 1}');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; max: number; priority: number };
    assert.deepEqual([body.name, body.max, body.priority], ['web', 2, 1]);
    await tick();
    const web = (await (await send('GET', '/api/services/web')).json()) as { desired: number; max: number };
    assert.deepEqual([web.max, web.desired], [2, 2]);
    const state = (await (await send('GET', '/api/state')).json()) as { services: { desired: number }[] };
    assert.equal(state.services[1]?.desired, 18);
    await expectError(await send('GET', '/api/services/nope'), 404, /no service named "nope"/);
  });

  test('PATCH refuses bad bodies with 400 and a clear message, and changes nothing', async (t) => {
    const { send, controller } = await start(t);
    const cases: [string, RegExp][] = [
      ['not json', /not valid JSON/],
      ['[1]', /JSON object/],
      ['{}', /nothing to change/],
      ['{"maximum": 3}', /unknown field "maximum": only min, max and priority/],
      ['{"max": "3"}', /"max" must be an integer, not string/],
      ['{"max": null}', /"max" must be an integer, not null/],
      ['{"max": 2.5}', /max: expected an integer ≥ 0, got 2.5/],
      ['{"min": 5, "max": 3}', /min: min 5 must not exceed max 3/],
      ['{"priority": 0}', /priority: expected an integer ≥ 1/],
      ['{"max": 1e999}', /max: expected an integer ≥ 0/],
    ];
    for (const [body, pattern] of cases)
      await expectError(await send('PATCH', '/api/services/web', body), 400, pattern);
    await expectError(await send('PATCH', '/api/services/nope', '{"max": 1}'), 404, /no service named/);
    await expectError(
      await send('PATCH', '/api/services/Bad_Name', '{"max": 1}'),
      400,
      /invalid service name/,
    );
    const big = JSON.stringify({ max: 3, pad: 'x'.repeat(17 * 1024) });
    await expectError(await send('PATCH', '/api/services/web', big), 413, /larger than 16 KiB/);
    const web = controller.snapshot().services[0];
    assert.deepEqual([web?.min, web?.max, web?.priority], [1, 19, 1]);
  });

  test('pause and resume', async (t) => {
    const { send, tick, source } = await start(t);
    await tick();
    const paused = await send('POST', '/api/services/web/pause');
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as { paused?: boolean }).paused, true);
    source.value = 150;
    await tick();
    let web = (await (await send('GET', '/api/services/web')).json()) as {
      desired: number;
      paused?: boolean;
    };
    assert.deepEqual([web.desired, web.paused], [4, true]);
    assert.equal((await send('POST', '/api/services/web/resume', '')).status, 200);
    await tick();
    web = (await (await send('GET', '/api/services/web')).json()) as { desired: number; paused?: boolean };
    assert.deepEqual([web.desired, web.paused], [15, undefined]);
    await expectError(await send('POST', '/api/services/nope/pause'), 404, /no service named/);
    await expectError(await send('GET', '/api/services/web/pause'), 405, /GET is not allowed/);
    const big = 'x'.repeat(17 * 1024);
    await expectError(await send('POST', '/api/services/web/pause', big), 413, /larger than 16 KiB/);
  });

  test('auth: with a token every write needs it; without one on a non-loopback address writes are off', async (t) => {
    const withToken = await start(t, { token: 's3cret' });
    const auth = { authorization: 'Bearer s3cret' };
    for (const [method, path, body] of [
      ['PATCH', '/api/services/web', '{"max": 5}'],
      ['POST', '/api/services/web/pause', ''],
      ['POST', '/api/services/web/resume', ''],
    ] as const) {
      await expectError(await withToken.send(method, path, body), 401, /missing token/);
      await expectError(
        await withToken.send(method, path, body, { authorization: 'Bearer no' }),
        401,
        /wrong token/,
      );
      assert.equal((await withToken.send(method, path, body, auth)).status, 200, `${method} ${path}`);
    }
    // Reads stay open.
    assert.equal((await withToken.send('GET', '/metrics')).status, 200);
    assert.equal((await withToken.send('GET', '/api/services/web')).status, 200);

    const open = await start(t, { listen: '0.0.0.0:0' });
    await expectError(
      await open.send('PATCH', '/api/services/web', '{"max": 5}'),
      403,
      /changes are disabled/,
    );
    await expectError(await open.send('POST', '/api/services/web/pause'), 403, /changes are disabled/);
    await expectError(
      await open.send('POST', '/api/services/web/pause', '', { origin: 'https://evil.example' }),
      403,
      /changes are disabled/,
    );
    const local = await start(t);
    await expectError(
      await local.send('POST', '/api/services/web/pause', '', { origin: 'https://evil.example' }),
      403,
      /cross-origin/,
    );
  });
});
