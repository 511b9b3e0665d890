import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TerminalError, TransientError } from '../core/errors.js';
import { answerError, basicAuth, requestJson, splitUserinfo } from './http-json.js';

test('userinfo leaves the URL for a Basic header, percent-decoded', () => {
  const { url, user } = splitUserinfo('https://me:p%40ss@api.example:8443/v2?x=1');
  assert.equal(url.toString(), 'https://api.example:8443/v2?x=1');
  assert.deepEqual(user, { name: 'me', password: 'p@ss' });
  assert.equal(basicAuth('me', 'p@ss'), `Basic ${Buffer.from('me:p@ss').toString('base64')}`);
  assert.equal(splitUserinfo('http://h/').user, undefined);
  assert.throws(() => splitUserinfo('not a url'), /invalid URL/);
});

test('401, 403 and 404 are terminal; 5xx and 429 transient; the rest plain errors', () => {
  for (const s of [401, 403, 404]) assert.ok(answerError(s, 'x') instanceof TerminalError, String(s));
  for (const s of [429, 500, 503]) assert.ok(answerError(s, 'x') instanceof TransientError, String(s));
  const other = answerError(400, 'x');
  assert.ok(!(other instanceof TerminalError) && !(other instanceof TransientError));
});

test('an unreachable server is a TransientError that names the origin, not the query', async () => {
  await assert.rejects(
    requestJson({
      method: 'GET',
      url: new URL('http://127.0.0.1:1/v1/job?token=secret-value'),
      timeoutMs: 2000,
      who: 'test',
    }),
    (error: Error) =>
      error instanceof TransientError &&
      /cannot reach http:\/\/127\.0\.0\.1:1 \(GET http:\/\/127\.0\.0\.1:1\/v1\/job\)/.test(error.message) &&
      !error.message.includes('secret-value'),
  );
});
