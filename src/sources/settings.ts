// Settings that several source kinds share, so they are spelled and checked the same way everywhere.
import { z } from 'zod';
import { safeUrl } from '../infra/redact.js';
import { durationSchema } from './duration.js';

/** How long one read may take, whatever the controller allows; the controller's readTimeout usually ends it first. */
export const timeoutSetting = () => durationSchema({ positive: true }).default(2000);

/** The window over which a counter becomes arrivals per second. */
export const rateWindowSetting = () => durationSchema({ positive: true }).default(5000);

/**
 * A URL with one of the given schemes. The message never repeats the value: it may hold a password.
 */
export function urlSetting(schemes: readonly string[]) {
  const expected = schemes.map((s) => `${s}://`).join(' or ');
  return z.string({ error: `expected a ${expected} URL` }).refine(
    (text) => {
      const url = safeUrl(text);
      return url !== undefined && schemes.includes(url.protocol.replace(/:$/, '')) && url.hostname !== '';
    },
    { error: `must be a ${expected} URL with a host` },
  );
}

export const nameSetting = () =>
  z.string({ error: 'expected a non-empty string' }).min(1, 'must not be empty');

/** Extra HTTP request headers (e.g. Authorization: "Bearer ${TOKEN}"); never logged. */
export const headersSetting = () => z.record(z.string(), z.string()).optional();

/** Whether a redirect to another origin is followed (without the configured headers); off: it is an error. */
export const followRedirectsSetting = () => z.boolean({ error: 'expected true or false' }).default(false);
