import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../store/open.js";
import { tempStore } from "../../store/testing.js";
import { resolveRange, settleAll } from "./range.js";
import { writeBars } from "./write.js";

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

describe("writeBars", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  const bar = (symbol: string, date: string, close: number) => ({
    symbol,
    date,
    open: close,
    high: close,
    low: close,
    close,
    volume: 1,
    vwap: null,
    trades: null,
  });

  it("upserts, the last duplicate winning, and serialises concurrent writes", async () => {
    const written = await Promise.all([
      writeBars(store.db, "polygon", [bar("A", "2024-01-02", 1), bar("A", "2024-01-02", 2)]),
      writeBars(store.db, "polygon", [bar("B", "2024-01-02", 3)]),
      writeBars(store.db, "polygon", [bar("O'NEIL", "2024-01-02", 4)]),
    ]);
    expect(written).toEqual([1, 1, 1]);
    await writeBars(store.db, "polygon", [bar("B", "2024-01-02", 5)]);
    const rows = (
      await store.db.runAndReadAll("SELECT symbol, close FROM bars_daily ORDER BY symbol")
    ).getRowObjectsJson();
    expect(rows).toEqual([
      { symbol: "A", close: 2 },
      { symbol: "B", close: 5 },
      { symbol: "O'NEIL", close: 4 },
    ]);
    expect(await writeBars(store.db, "polygon", [])).toBe(0);
  });
});
