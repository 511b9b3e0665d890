// What a process replica needs on the disk before it can start: its working folder (`run.cwd`) and, when the
// command names its program by a path (`./w.sh`, `bin/worker`), that program. Checked when the back-end
// starts and by `validate`, so that a typo is one config problem naming the folder, not `spawn sleep
// ENOENT` on every tick; and named again if a replica cannot start because the folder went away since.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunSpec } from '../../core/types.js';

/** What is missing on the disk, as `path: kind ... does not exist` (resolved as the spawn resolves it). */
function missing(run: RunSpec): Array<{ field: string; what: string }> {
  const out: Array<{ field: string; what: string }> = [];
  if (run.cwd !== undefined) {
    const kind = kindOf(resolve(run.cwd));
    if (kind !== 'directory') {
      const why = kind === undefined ? 'does not exist' : 'is not a folder';
      out.push({ field: 'cwd', what: `folder ${resolve(run.cwd)} ${why}` });
      return out; // a program inside it cannot be found either: one line says it
    }
  }
  const program = run.command?.[0];
  // A bare name (`sleep`) is looked up in PATH by the spawn; only a path is the config's to check.
  if (program?.includes('/')) {
    const path = resolve(run.cwd ?? '.', program);
    const kind = kindOf(path);
    if (kind === undefined) out.push({ field: 'command.0', what: `program ${path} does not exist` });
    else if (kind === 'directory') out.push({ field: 'command.0', what: `program ${path} is a folder` });
  }
  return out;
}

function kindOf(path: string): 'directory' | 'other' | undefined {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch {
    return undefined;
  }
}

/** One `services.NAME.run.FIELD: ...` line per service whose folder or program is missing. */
export function runProblems(
  services: ReadonlyArray<{ readonly name: string; readonly run: RunSpec }>,
): string[] {
  return services.flatMap((s) =>
    missing(s.run).map(({ field, what }) => `services.${s.name}.run.${field}: ${what}`),
  );
}

/**
 * Why a spawn failed, in words: Node reports a missing working folder as `spawn PROGRAM ENOENT`, which
 * blames the program; the folder is named instead when it is the one missing.
 */
export function spawnFailure(error: Error, run: RunSpec): string {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error.message;
  const [first] = missing(run);
  return first ? `${first.what} (run.${first.field})` : error.message;
}
