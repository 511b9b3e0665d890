// Reading a file a user names without trusting its size: /dev/zero, a FIFO or a huge file is refused after
// limit + 1 bytes instead of filling memory (or failing late with "Invalid string length").
import { open } from 'node:fs/promises';

/** The file holds more than the limit; the message says how much is allowed. */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
  constructor(readonly limit: number) {
    super(`the file is larger than ${describeBytes(limit)}`);
  }
}

/** The file's text (UTF-8), read in chunks and refused once it passes `limit` bytes. */
export async function readLimited(path: string, limit: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(1024 * 1024, limit + 1));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > limit) throw new TooLargeError(limit);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

function describeBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
