// A stack of closers: open a thing, push its close; on failure or at exit they run in reverse order.

export type Close = () => unknown;

export class Closers {
  private readonly stack: Close[] = [];

  /** Pushes the close of what was just opened. */
  push(close: Close): void {
    this.stack.push(close);
  }

  /**
   * Opens a thing: when `open` throws, closes everything pushed so far (newest first) and rethrows its
   * error; a close that fails then is dropped, so the error that stopped the start is the one seen.
   */
  async open<T>(open: () => T | Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (error) {
      await this.close().catch(() => {});
      throw error;
    }
  }

  /** Runs every close, newest first, each once, each awaited; throws the first failure after the rest ran. */
  async close(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (let close = this.stack.pop(); close; close = this.stack.pop()) {
      try {
        await close();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}
