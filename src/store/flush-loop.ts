/**
 * When a recorder writes (both backends' `RunRecorder`s): flushes queued one after another (never
 * two at once), an optional timer that flushes what is buffered, and the last flush at close,
 * which reports a failure (with a failed automatic flush's error as its cause).
 */
export class FlushLoop {
  /** The end of the last queued flush. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** The last error of an automatic flush (its rows stay buffered and are retried). */
  private autoFlushError: unknown;

  /**
   * @param write writes what is buffered; on failure it keeps what it did not write.
   * @param isEmpty whether nothing waits (the timer then does nothing).
   */
  constructor(
    private readonly write: () => Promise<void>,
    private readonly isEmpty: () => boolean,
  ) {}

  /** A flush after the ones queued before it; what is recorded while it runs goes into the next. */
  flush(): Promise<void> {
    const next = this.chain.then(() => this.write());
    this.chain = next.catch(() => {});
    return next;
  }

  /** Flushes every `intervalMs` until `stop` (the timer does not keep Node alive). */
  start(intervalMs: number): void {
    this.stop();
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.isEmpty()) return;
      busy = true;
      this.flush()
        .then(
          () => {
            this.autoFlushError = undefined;
          },
          (err: unknown) => {
            this.autoFlushError = err;
          },
        )
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    timer.unref();
    this.timer = timer;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the timer and flushes; throws when that flush fails (the automatic flush's error as cause). */
  async finish(): Promise<void> {
    this.stop();
    try {
      await this.flush();
    } catch (err) {
      if (this.autoFlushError !== undefined && err instanceof Error && err.cause === undefined) {
        err.cause = this.autoFlushError;
      }
      throw err;
    }
  }
}
