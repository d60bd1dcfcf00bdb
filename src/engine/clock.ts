/**
 * Time as the engine sees it: timestamps, waits and deadlines. Injected so that tests run retries
 * and timeouts in virtual time (`ManualClock`) instead of waiting for them.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** A signal that aborts with a `TimeoutError` after `ms`. */
  timeout(ms: number): AbortSignal;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  },
  // Its timer does not keep the process alive: a task that ends early leaves it behind.
  timeout: (ms) => AbortSignal.timeout(ms),
};

/** Whether a signal aborted because its deadline passed (`Clock.timeout`). */
export function isTimeout(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as { name?: string } | undefined)?.name === "TimeoutError";
}
