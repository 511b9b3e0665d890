// `microscaler status`: prints the state of a running instance (read by ../status.ts).
import { errorMessage } from '../../core/errors.js';
import type { Snapshot } from '../../core/types.js';
import { table } from '../render.js';
import { readState } from '../status.js';
import { options } from './args.js';
import { help } from './usage.js';

export async function status(args: string[]): Promise<number> {
  const o = options(args, { url: { type: 'string' }, json: { type: 'boolean' } });
  if (o.help) return help();
  let snapshot: Snapshot;
  try {
    snapshot = await readState((o.url as string | undefined) ?? 'http://127.0.0.1:8080');
  } catch (error) {
    process.stderr.write(`microscaler status: ${errorMessage(error)}\n`);
    return 1;
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    return 0;
  }
  const cap = snapshot.capacity;
  process.stdout.write(
    `${snapshot.name}: capacity ${cap.used}/${cap.replicas} at ${snapshot.time}\n${table(snapshot)}\n`,
  );
  for (const s of snapshot.services) {
    if (s.error) process.stdout.write(`- ${s.name}: ${s.error}\n`);
  }
  return 0;
}
