// Reads a config file's text: bounded in size, with read failures in words; the instance name its file name gives.

import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { INSTANCE_NAME } from './schema.js';

/**
 * Largest config accepted, in bytes: about 1,500 services written out in full. The YAML parser handles
 * some 100-500 KiB per second of hostile text on a busy 2-core machine (one error object per token of a
 * broken file), so a bigger (or endless, like /dev/zero) file is refused before it is parsed.
 */
export const MAX_CONFIG_BYTES = 256 * 1024;
export const TOO_BIG = `config: the file is larger than ${MAX_CONFIG_BYTES / 1024} KiB`;

/** The file's text; a file that cannot be read (or is too big) is a ConfigError. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readLimited(path, MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([`config: cannot read ${path}: ${readFailure(error)}`]);
  }
}

/**
 * The instance name of a config file without `name:`: its base name, so that two unrelated configs are two
 * instances, never one that adopts and stops the other's replicas (`shop.yaml` -> `shop`). Lower-cased, with
 * anything the name pattern refuses as "-"; "microscaler" when nothing usable is left.
 */
export function nameFromFile(path: string): string {
  const base = basename(path, extname(path)).toLowerCase();
  const safe = base
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return INSTANCE_NAME.test(safe) ? safe : 'microscaler';
}

/**
 * The file's text, read in chunks so that a file over `limit` (or one that never ends, like /dev/zero or a
 * pipe that keeps writing) is refused after limit + 1 bytes instead of filling memory.
 */
async function readLimited(path: string, limit: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > limit) throw new ConfigError([TOO_BIG]);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return errorMessage(error);
}
