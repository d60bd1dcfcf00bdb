import { describe, expect, it } from "vitest";
import { resolveRange, settleAll } from "./range.js";

describe("resolveRange", () => {
  it("uses start/end, end defaulting to the run date", () => {
    expect(resolveRange({ start: "2024-01-02", end: "2024-01-05" }, "2024-02-01")).toEqual({
      from: "2024-01-02",
      to: "2024-01-05",
    });
    expect(resolveRange({ start: "2024-01-02" }, "2024-02-01")).toEqual({
      from: "2024-01-02",
      to: "2024-02-01",
    });
    expect(() => resolveRange({ start: "2024-03-01" }, "2024-02-01")).toThrow(/after the end/);
  });

  it("counts days_back in NYSE sessions", () => {
    // Sunday 2024-01-07: the sessions before are Thu 01-04 and Fri 01-05.
    expect(resolveRange({ days_back: 2 }, "2024-01-07")).toEqual({ from: "2024-01-04", to: "2024-01-05" });
  });
});

describe("settleAll", () => {
  it("runs every item with bounded concurrency and keeps failures", async () => {
    let active = 0;
    let peak = 0;
    const results = await settleAll([1, 2, 3, 4, 5], 2, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (n === 3) throw new Error("three");
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      10,
      20,
      "three",
      40,
      50,
    ]);
  });
});
