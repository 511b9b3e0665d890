// The signals that end `run` and `demo`: Ctrl-C, a kill, and the terminal closing (SIGHUP) all mean "stop".
// Without a SIGHUP handler Node dies at once when the terminal closes, leaving every replica behind.

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Counts stop signals from the moment it is made: `first` resolves on the first; each later one calls
 * `onRepeat(signal, n)` (n = 2 for the second). dispose() removes the handlers.
 */
export class StopSignals {
  readonly first: Promise<StopSignal>;
  private count = 0;
  private resolveFirst: ((signal: StopSignal) => void) | undefined;
  private repeat: ((signal: StopSignal, n: number) => void) | undefined;
  private readonly handler = (signal: NodeJS.Signals) => this.received(signal as StopSignal);

  constructor(private readonly target: NodeJS.Process = process) {
    this.first = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    for (const s of STOP_SIGNALS) target.on(s, this.handler);
  }

  /** Resolves `first` as if a signal had come (the duration is over); later signals count from here. */
  end(): void {
    if (this.count === 0) this.received(undefined);
  }

  onRepeat(fn: (signal: StopSignal, n: number) => void): void {
    this.repeat = fn;
  }

  dispose(): void {
    for (const s of STOP_SIGNALS) this.target.off(s, this.handler);
  }

  private received(signal: StopSignal | undefined): void {
    this.count++;
    if (this.count === 1) this.resolveFirst?.(signal ?? 'SIGTERM');
    else if (signal) this.repeat?.(signal, this.count);
  }
}

/**
 * Once the terminal is gone, writing to it fails (EIO on a closed pty, EPIPE on a closed pipe), and an
 * unhandled stream error would kill the process in the middle of its drain. Output is best effort then.
 */
export function tolerateClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const s of streams) s.on('error', () => {});
}
