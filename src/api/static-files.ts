// The dashboard's files, read once when the server starts and served from memory: nothing on disk is ever
// looked up from a request's path, so no path can escape the folder.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
  readonly etag: string;
}

/** Every servable file directly in `dir` (no subfolders), by URL path; `/` is index.html. */
export function loadStaticFiles(dir: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (!type || !/^[a-z0-9][a-z0-9.-]*$/.test(name) || !statSync(path).isFile()) continue;
    const body = readFileSync(path);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    files.set(name === 'index.html' ? '/' : `/${name}`, { type, body, etag });
  }
  if (!files.has('/')) throw new Error(`${dir} holds no index.html`);
  return files;
}
