/**
 * Per-source request rate limiter: at most `ratePerMinute` acquisitions in any sliding 60 s window
 * (no bursts above the limit, which matters for Polygon's free tier of 5 requests per minute).
 */

/** Time source, injectable so tests never wait for real minutes. */
export interface Clock {
  /** Milliseconds since some fixed origin (e.g. `Date.now()`). */
  now(): number;
  /** Resolves after `ms`; rejects with `signal.reason` when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Returns the abort reason of a signal as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === "string" ? reason : "The operation was aborted");
  err.name = "AbortError";
  return err;
}

/** Sleeps `ms` milliseconds with real timers; abortable. */
export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: realSleep,
};

/** Resolves with `promise`, or rejects as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

export const RATE_WINDOW_MS = 60_000;

export interface RateLimiterOptions {
  /** Requests per minute; 0 (or negative) means unlimited. */
  ratePerMinute: number;
  clock?: Clock;
  /** Window length, 60 s by default. */
  windowMs?: number;
}

export class RateLimiter {
  readonly ratePerMinute: number;
  readonly windowMs: number;
  private readonly clock: Clock;
  /** Times of the acquisitions inside the current window, oldest first. */
  private readonly stamps: number[] = [];
  /** Waiters are served in order: each acquisition waits for the previous one. */
  private tail: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions) {
    this.ratePerMinute = Number.isFinite(options.ratePerMinute) ? Math.floor(options.ratePerMinute) : 0;
    this.windowMs = options.windowMs ?? RATE_WINDOW_MS;
    this.clock = options.clock ?? realClock;
  }

  get unlimited(): boolean {
    return this.ratePerMinute <= 0;
  }

  /** Acquisitions recorded within the last window. */
  inWindow(): number {
    this.prune(this.clock.now());
    return this.stamps.length;
  }

  /** Milliseconds until a slot is free (0 when one is free now). */
  waitTime(): number {
    if (this.unlimited) return 0;
    const now = this.clock.now();
    this.prune(now);
    if (this.stamps.length < this.ratePerMinute) return 0;
    const oldest = this.stamps[this.stamps.length - this.ratePerMinute] ?? now;
    return Math.max(0, oldest + this.windowMs - now);
  }

  /** Waits for a slot and takes it. Rejects with the signal's reason when aborted (taking nothing). */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortReason(signal);
    if (this.unlimited) return;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await raceAbort(previous, signal);
      for (;;) {
        const wait = this.waitTime();
        if (wait <= 0) break;
        await this.clock.sleep(wait, signal);
      }
      if (signal?.aborted) throw abortReason(signal);
      this.stamps.push(this.clock.now());
    } finally {
      // Keep the queue order even when this waiter was aborted before its turn.
      void previous.then(release);
    }
  }

  private prune(now: number): void {
    while (this.stamps.length > 0 && (this.stamps[0] as number) <= now - this.windowMs) this.stamps.shift();
  }
}

export function createRateLimiter(ratePerMinute: number, clock?: Clock): RateLimiter {
  return new RateLimiter({ ratePerMinute, ...(clock ? { clock } : {}) });
}

const sharedLimiters = new Map<string, RateLimiter>();

/**
 * One limiter per base URL and rate for the whole process: every task that talks to the same API
 * at the same rate shares its budget (Polygon's free tier is 5 requests a minute per key, not per task).
 */
export function sharedLimiter(baseUrl: string, ratePerMinute: number): RateLimiter {
  const key = `${baseUrl.replace(/\/+$/, "")}|${ratePerMinute}`;
  let limiter = sharedLimiters.get(key);
  if (limiter === undefined) {
    limiter = new RateLimiter({ ratePerMinute });
    sharedLimiters.set(key, limiter);
  }
  return limiter;
}
