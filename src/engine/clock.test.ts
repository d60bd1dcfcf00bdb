import { describe, expect, it } from "vitest";
import { isTimeout, systemClock } from "./clock.js";
import { ManualClock } from "./manual-clock.js";

describe("systemClock", () => {
  it("sleeps, and rejects with the abort reason when cancelled", async () => {
    await systemClock.sleep(1, new AbortController().signal);
    const controller = new AbortController();
    const waiting = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });

  it("gives a signal that aborts as a timeout", async () => {
    const signal = systemClock.timeout(1);
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    expect(isTimeout(signal)).toBe(true);
  });
});

describe("ManualClock", () => {
  it("stands still until advanced, then fires what falls due in order, each at its own time", async () => {
    const clock = new ManualClock("2025-03-14T21:00:00Z");
    const fired: string[] = [];
    const never = new AbortController().signal;
    const log = (name: string) => () => fired.push(`${name}@${clock.now().toISOString().slice(11, 19)}`);
    void clock.sleep(30_000, never).then(log("b"));
    void clock.sleep(10_000, never).then(async () => {
      log("a")();
      // Set while the clock advances: it fires within the same advance when due by its end.
      await clock.sleep(5_000, never);
      log("a2")();
    });
    const deadline = clock.timeout(20_000);
    deadline.addEventListener("abort", log("timeout"));
    expect(clock.sleeping).toBe(2);
    await clock.advance(9_999);
    expect(fired).toEqual([]);
    await clock.advance(30_001);
    expect(fired).toEqual(["a@21:00:10", "a2@21:00:15", "timeout@21:00:20", "b@21:00:30"]);
    expect(clock.now().toISOString()).toBe("2025-03-14T21:00:40.000Z");
    expect(isTimeout(deadline)).toBe(true);
    expect(clock.sleeps).toEqual([30_000, 10_000, 5_000]);
    expect(clock.sleeping).toBe(0);
  });

  it("rejects a sleep whose signal aborts, and resolves a sleep of 0 at once", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const waiting = clock.sleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(clock.sleeping).toBe(0);
    await clock.sleep(0, new AbortController().signal);
    await expect(clock.sleep(5, controller.signal)).rejects.toThrow("stop");
  });
});
