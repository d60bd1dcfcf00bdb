import { describe, expect, it } from "vitest";
import { abortReason, type Clock, RateLimiter } from "./rate-limiter.js";

/** A manual clock: `sleep` resolves only when `advance` moves time past its deadline. */
class ManualClock implements Clock {
  private time = 1_000_000;
  private sleepers: Array<{ until: number; resolve: () => void }> = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const entry = { until: this.time + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener(
        "abort",
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== entry);
          reject(abortReason(signal));
        },
        { once: true },
      );
    });
  }

  get pending(): number {
    return this.sleepers.length;
  }

  async advance(ms: number): Promise<void> {
    this.time += ms;
    const due = this.sleepers.filter((s) => s.until <= this.time);
    this.sleepers = this.sleepers.filter((s) => s.until > this.time);
    for (const s of due) s.resolve();
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function track(promise: Promise<void>): { done: boolean; error?: unknown } {
  const state: { done: boolean; error?: unknown } = { done: false };
  promise.then(
    () => {
      state.done = true;
    },
    (err: unknown) => {
      state.done = true;
      state.error = err;
    },
  );
  return state;
}

describe("RateLimiter", () => {
  it("5/min allows 5 at once and the 6th only after the 60 s window", async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ ratePerMinute: 5, clock });
    for (let i = 0; i < 5; i++) await limiter.acquire();
    expect(limiter.inWindow()).toBe(5);

    const sixth = track(limiter.acquire());
    await flush();
    expect(sixth.done).toBe(false);
    await clock.advance(59_999);
    expect(sixth.done).toBe(false);
    await clock.advance(1);
    expect(sixth.done).toBe(true);
    expect(sixth.error).toBeUndefined();
  });

  it("never lets more than the limit through in any 60 s window", async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ ratePerMinute: 5, clock });
    const granted: number[] = [];
    const all = Array.from({ length: 17 }, () => limiter.acquire().then(() => granted.push(clock.now())));
    await flush();
    for (let step = 0; step < 400 && granted.length < 17; step++) await clock.advance(1_000);
    await Promise.all(all);
    expect(granted).toHaveLength(17);
    for (let i = 0; i < granted.length; i++) {
      const start = granted[i] as number;
      const inWindow = granted.filter((t) => t >= start && t < start + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(5);
    }
    // Sliding window: 5 at t0, 5 at t0+60 s, 5 at t0+120 s, 2 at t0+180 s.
    const t0 = granted[0] as number;
    expect(granted.map((t) => t - t0)).toEqual([
      0, 0, 0, 0, 0, 60_000, 60_000, 60_000, 60_000, 60_000, 120_000, 120_000, 120_000, 120_000, 120_000,
      180_000, 180_000,
    ]);
  });

  it("partially spaced requests free slots as each leaves the window", async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ ratePerMinute: 2, clock });
    await limiter.acquire(); // t=0
    await clock.advance(10_000);
    await limiter.acquire(); // t=10s
    expect(limiter.waitTime()).toBe(50_000);
    const third = track(limiter.acquire());
    await clock.advance(50_000);
    expect(third.done).toBe(true);
    expect(limiter.waitTime()).toBe(10_000);
  });

  it("0 means unlimited", async () => {
    const limiter = new RateLimiter({ ratePerMinute: 0, clock: new ManualClock() });
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(limiter.waitTime()).toBe(0);
  });

  it("acquire is abortable while waiting, takes no slot, and keeps the queue going", async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ ratePerMinute: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = track(limiter.acquire(controller.signal));
    const next = track(limiter.acquire());
    await flush();
    controller.abort(new Error("stop now"));
    await flush();
    expect(aborted.done).toBe(true);
    expect((aborted.error as Error).message).toBe("stop now");
    expect(next.done).toBe(false);
    await clock.advance(60_000);
    expect(next.done).toBe(true);
    expect(next.error).toBeUndefined();
    expect(limiter.inWindow()).toBe(1);
  });

  it("rejects at once with an already-aborted signal", async () => {
    const limiter = new RateLimiter({ ratePerMinute: 5, clock: new ManualClock() });
    const controller = new AbortController();
    controller.abort();
    await expect(limiter.acquire(controller.signal)).rejects.toThrow();
    expect(limiter.inWindow()).toBe(0);
  });
});
