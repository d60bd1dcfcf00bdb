import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./retry.js";

describe("retryDelayMs", () => {
  it("takes a list in turn, its last delay repeating", () => {
    const spec = ["10s", "30s", "2m"];
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(spec, n))).toEqual([
      10_000, 30_000, 120_000, 120_000, 120_000,
    ]);
  });

  it("repeats a single duration", () => {
    expect(retryDelayMs("500ms", 1)).toBe(500);
    expect(retryDelayMs("500ms", 7)).toBe(500);
    expect(retryDelayMs(undefined, 3)).toBe(0);
  });

  it("doubles exponentially up to max, spread by jitter", () => {
    const spec = { backoff: "exponential" as const, base: "5s", max: "30s" };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(spec, n))).toEqual([5000, 10_000, 20_000, 30_000, 30_000]);
    const jittered = { ...spec, jitter: 0.2 };
    expect(retryDelayMs(jittered, 1, () => 0)).toBe(4000);
    expect(retryDelayMs(jittered, 1, () => 1)).toBe(6000);
    expect(retryDelayMs(jittered, 1, () => 0.5)).toBe(5000);
  });
});
