import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../core/errors.js';

export interface ListenAddress {
  /** undefined = every interface (Node's default: `::` where IPv6 exists, else `0.0.0.0`). */
  readonly host: string | undefined;
  /** 0 = an ephemeral port. */
  readonly port: number;
}

/** The host used when only a port is given: the documented default, loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * Parses `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`, `:8080` (every interface, as in Go) and a bare
 * port (`8080` or 8080, on 127.0.0.1). Throws ConfigError when the address is not one of those.
 */
export function parseListen(listen: string | number): ListenAddress {
  if (typeof listen === 'number') return { host: DEFAULT_HOST, port: checkPort(String(listen), listen) };
  const text = listen.trim();
  if (/^\d+$/.test(text)) return { host: DEFAULT_HOST, port: checkPort(text, listen) };
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!match) throw invalid(listen, 'expected HOST:PORT, [IPv6]:PORT, :PORT or PORT');
  const [, ipv6, name, port = ''] = match;
  if (ipv6 !== undefined && !isIPv6(ipv6)) throw invalid(listen, `"${ipv6}" is not an IPv6 address`);
  const host = ipv6 ?? name;
  return { host: host === '' ? undefined : host, port: checkPort(port, listen) };
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped ::ffff:127.x.x.x) and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

function checkPort(text: string, listen: string | number): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(listen, 'port must be 0-65535');
  return port;
}

function invalid(listen: string | number, why: string): ConfigError {
  return new ConfigError([`listen: "${listen}" is not a listen address: ${why}`]);
}
