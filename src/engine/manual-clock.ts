import type { Clock } from "./clock.js";

interface Timer {
  at: number;
  /** Orders timers due at the same time: first set, first fired. */
  seq: number;
  kind: "sleep" | "timeout";
  fire: () => void;
}

/**
 * A clock for tests: time stands still until `advance(ms)` moves it, firing the sleeps and
 * timeouts that fall due in order and letting the code awaiting them run after each. Deterministic,
 * and a retry delay of minutes costs nothing.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: Timer[] = [];
  /** Every duration passed to `sleep`, in call order. */
  readonly sleeps: number[] = [];

  constructor(start: Date | string = "2025-03-14T21:00:00Z") {
    this.nowMs = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  /** A sleep of 0 ms (or less) resolves at once. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal.aborted) return Promise.reject(signal.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = this.schedule(ms, "sleep", () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  timeout(ms: number): AbortSignal {
    const controller = new AbortController();
    this.schedule(ms, "timeout", () =>
      controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    );
    return controller.signal;
  }

  /** Sleeps not over yet (timeouts left out: nobody clears them). */
  get sleeping(): number {
    return this.timers.filter((t) => t.kind === "sleep").length;
  }

  /** Moves time forward by `ms`, firing each timer due on the way at its own time. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      await settle();
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.nowMs = next.at;
      next.fire();
    }
    this.nowMs = target;
    await settle();
  }

  private schedule(ms: number, kind: Timer["kind"], fire: () => void): Timer {
    const timer = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, kind, fire };
    this.timers.push(timer);
    return timer;
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

/** Lets every promise chain that is ready to go on do so (the microtask queue drains before it). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
