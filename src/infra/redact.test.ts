import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayUrl, Redactor } from './redact.js';

test('Redactor masks passwords from URLs in raw, encoded and decoded form', () => {
  const r = Redactor.forUrls(
    ['redis://:p%40ss-word@h:6379', 'amqp://u:guest-pw@h', 'nats://tok-123456@h', undefined],
    ['extra-secret'],
  );
  const cases: [string, string][] = [
    ['AUTH p@ss-word failed', 'AUTH *** failed'],
    ['redis://:p%40ss-word@h:6379 refused', 'redis://:***@h:6379 refused'],
    ['login guest-pw refused', 'login *** refused'],
    ['token tok-123456 bad', 'token *** bad'],
    ['header extra-secret', 'header ***'],
    ['nothing secret here', 'nothing secret here'],
  ];
  for (const [input, output] of cases) assert.equal(r.redact(input), output, input);
  // Too short to mask without mangling words: `pw` would hit every "pw" in a message.
  assert.equal(new Redactor(['pw']).redact('pw'), 'pw');
});

test('displayUrl keeps scheme, host and path only', () => {
  const cases: [string, string][] = [
    ['redis://:secret@127.0.0.1:6379/2', 'redis://127.0.0.1:6379/2'],
    ['https://u:p@example.com/api/v1/query?token=abc', 'https://example.com/api/v1/query'],
    ['amqp://guest:guest@mq', 'amqp://mq'],
    ['not a url', '(invalid URL)'],
  ];
  for (const [url, shown] of cases) assert.equal(displayUrl(url), shown);
});
