// @ts-check
// Changes sent to the server (POST, with the token if one was given), and the token form.
import { byId } from './page.js';

/** @type {{ path: string, body: unknown } | undefined} the change refused for want of a token, sent again once one is given */
let awaitingToken;

/**
 * POSTs a JSON body with the token, if one was given; shows the server's message when refused.
 * @param {string} path
 * @param {unknown} body
 */
export async function write(path, body) {
  const error = byId('demand-error');
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  const token = sessionStorage.getItem('microscaler-token');
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.ok) {
      error.textContent = '';
      return;
    }
    const answer = await res.json().catch(() => ({}));
    error.textContent = answer.error ?? `HTTP ${res.status}`;
    if (res.status === 401) {
      awaitingToken = { path, body };
      byId('demand-panel').hidden = false;
      byId('token-form').hidden = false;
    }
  } catch (e) {
    error.textContent = `cannot reach the server: ${e instanceof Error ? e.message : String(e)}`;
  }
}

byId('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId('token'));
  sessionStorage.setItem('microscaler-token', input.value);
  input.value = '';
  byId('token-form').hidden = true;
  byId('demand-error').textContent = '';
  // What the user asked for before the token was known: do it now (refused again, the form comes back).
  const retry = awaitingToken;
  awaitingToken = undefined;
  if (retry) void write(retry.path, retry.body);
});
