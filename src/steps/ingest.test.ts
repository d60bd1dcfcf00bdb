import { describe, expect, it, onTestFinished } from "vitest";
import type { Bar } from "../market/bars.js";
import type { Store } from "../store/open.js";
import { stepSinks } from "../store/sinks.js";
import { tempStore } from "../store/testing.js";
import { ingestAll, resolveRange, settleAll } from "./ingest.js";

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

  it("counts days_back in NYSE sessions (holidays and weekends skipped)", () => {
    // Sunday 2024-01-07: the sessions before are Thu 01-04 and Fri 01-05.
    expect(resolveRange({ days_back: 2 }, "2024-01-07")).toEqual({ from: "2024-01-04", to: "2024-01-05" });
    // Tuesday 2024-01-02 back 3 sessions: 2023-12-28, 12-29, 2024-01-02 (01-01 is a holiday).
    expect(resolveRange({ days_back: 3 }, "2024-01-02")).toEqual({ from: "2023-12-28", to: "2024-01-02" });
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

describe("ingestAll into the store's bars sink", () => {
  const bar = (symbol: string, date: string): Bar => ({
    symbol,
    date,
    open: 1,
    high: 1,
    low: 1,
    close: 1,
    volume: 1,
  });
  const freshStore = async (): Promise<Store> => {
    const { store, cleanup } = await tempStore();
    onTestFinished(cleanup);
    return store;
  };
  const rows = async (store: Store, sql: string) => (await store.db.runAndReadAll(sql)).getRowObjectsJson();

  it("fetches on while earlier rows commit; an item's result is its write's or its fetch's failure", async () => {
    const store = await freshStore();
    const events: string[] = [];
    const results = await ingestAll(
      ["A", "B", "C"],
      stepSinks(store.db).bars("test"),
      async (symbol) => {
        events.push(`fetch ${symbol}`);
        if (symbol === "B") throw new Error("B: no such symbol");
        return {
          bars: [bar(symbol, symbol === "C" ? "not a date" : "2024-01-02"), bar(symbol, "2024-01-03")],
        };
      },
      {
        concurrency: 1,
        signal: new AbortController().signal,
        onWritten: (symbol, written) => events.push(`wrote ${symbol}: ${written.bars}`),
      },
    );
    expect(events).toEqual(["fetch A", "fetch B", "fetch C", "wrote A: 2"]);
    expect(results[0]).toEqual({ status: "fulfilled", value: { bars: 2, actions: 0 } });
    expect(results[1]).toMatchObject({ status: "rejected", reason: new Error("B: no such symbol") });
    expect(results[2]?.status).toBe("rejected");
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/invalid date "not a date"/);
    // Nothing of C landed (an entry is written whole), and the sink is closed: no staging left.
    expect(await rows(store, "SELECT source, symbol, CAST(date AS VARCHAR) AS date FROM bars_daily")).toEqual(
      [
        { source: "test", symbol: "A", date: "2024-01-02" },
        { source: "test", symbol: "A", date: "2024-01-03" },
      ],
    );
    expect(
      await rows(
        store,
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'bars_writer_%'",
      ),
    ).toEqual([]);
  });

  it("rejects the items not started once the signal aborts", async () => {
    const store = await freshStore();
    const controller = new AbortController();
    const results = await ingestAll(
      ["A", "B"],
      stepSinks(store.db).bars("test"),
      async (symbol) => {
        controller.abort(new Error("run cancelled"));
        return { bars: [bar(symbol, "2024-01-02")] };
      },
      { concurrency: 1, signal: controller.signal },
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error("run cancelled"));
  });
});
