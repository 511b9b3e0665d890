// Small HTTP helpers shared by the routes: JSON answers, JSON errors, bounded body reading.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { duplicateKey } from './duplicate-keys.js';

/** Thrown by handlers to answer with a JSON error. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Reads at most `limit` bytes; a larger body is refused (413) without reading the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Connection: close, so the unread remainder of the body is not taken for the next request.
  const tooLarge = () =>
    new HttpError(413, `request body is larger than ${limit / 1024} KiB`, { Connection: 'close' });
  if (Number(req.headers['content-length']) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onClose = () => done(new Error('client closed the connection before sending the whole body'));
    req.on('data', onData).on('end', onEnd).on('error', done).on('close', onClose);
  });
}

/** Parses a JSON body; `example` shows the expected shape in the error. */
export function parseJson(body: Buffer, example: string): unknown {
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, `request body is not valid JSON; send ${example}`);
  }
  const twice = duplicateKey(text);
  if (twice !== undefined) {
    throw new HttpError(
      400,
      `field ${JSON.stringify(twice)} is given twice; send each field once, like ${example}`,
    );
  }
  return value;
}

/** The body as a plain JSON object, or a 400 that shows the expected shape. */
export function jsonObject(body: unknown, example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, `request body must be a JSON object like ${example}`);
  }
  return body as Record<string, unknown>;
}
