// What `run` and `demo` show while an instance runs: events, the live view on a terminal, a summary at the end.
import type { ControllerEvent, Snapshot } from '../../core/types.js';
import type { Instance } from '../compose.js';
import { eventLine, LiveView, table } from '../render.js';
import type { StopSignals } from '../signals.js';

/** Runs an instance until a signal (or the duration) ends it, showing what happens. */
export async function watchInstance(
  instance: Instance,
  signals: StopSignals,
  title: string,
  drainOnExit: boolean,
  durationMs: number | undefined,
): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const view = tty ? new LiveView(process.stdout, title) : undefined;
  let peakUsed = 0;
  let plans = 0;
  const sample = (s: Snapshot) => {
    peakUsed = Math.max(peakUsed, s.capacity.used);
  };
  const unsubscribe = instance.controller.subscribe((e: ControllerEvent) => {
    if (e.kind === 'plan') plans++;
    if (e.kind === 'scale') return; // the plan event before it says the same
    if (view) view.event(e);
    else process.stdout.write(`${eventLine(e)}\n`);
  });
  const timer = setInterval(() => {
    const s = instance.controller.snapshot();
    sample(s);
    view?.draw(s);
  }, 200);
  if (instance.api) process.stdout.write(`${listeningLine(instance.api)}\n`);

  if (durationMs !== undefined) setTimeout(() => signals.end(), durationMs).unref();
  const signal = await signals.first;
  clearInterval(timer);
  unsubscribe();
  const last = instance.controller.snapshot();
  sample(last);
  // After a SIGHUP there is no terminal to draw on.
  if (view && signal !== 'SIGHUP') view.draw(last, true);
  process.stdout.write(drainOnExit ? 'stopping every replica...\n' : 'leaving replicas running\n');
  // A second signal while draining hurries the stop (no grace: SIGKILL); a third exits at once. The
  // caller's exit handlers still run (the demo removes its temporary folder).
  signals.onRepeat((_, n) => {
    if (n === 2 && drainOnExit) {
      process.stdout.write('stopping every replica now, without grace (once more to exit at once)\n');
      instance.hurry();
    } else process.exit(130);
  });
  await instance.close({ drain: drainOnExit });
  process.stdout.write(
    `${table(last)}\n${plans} plan changes; peak capacity used ${peakUsed}/${last.capacity.replicas}\n`,
  );
}

/** Where the API listens, as bound; for every interface also the URL that works from this machine. */
function listeningLine(api: { url: string; listening: string }): string {
  if (api.listening === api.url) return `api listening on ${api.url} (dashboard: ${api.url}/)`;
  return `api listening on ${api.listening} (every interface; from this machine: ${api.url}, dashboard: ${api.url}/)`;
}
