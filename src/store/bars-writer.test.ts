import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bar } from "../market/bars.js";
import { BarsWriter } from "./bars-writer.js";
import type { Store } from "./open.js";
import { tempStore } from "./testing.js";

const bar = (symbol: string, date: string, close: number): Bar => ({
  symbol,
  date,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});

describe("BarsWriter", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  const rows = async (sql: string) => (await store.db.runAndReadAll(sql)).getRowObjectsJson();

  it("upserts entries queued together in one transaction, the last duplicate of an entry winning", async () => {
    const writer = new BarsWriter(store.db, "polygon");
    const written = await Promise.all([
      writer.write({ bars: [bar("A", "2024-01-02", 1), bar("A", "2024-01-02", 2)] }),
      writer.write({ bars: [bar("B", "2024-01-02", 3)] }),
      writer.write({ bars: [bar("O'NEIL", "2024-01-02", 4)] }),
      writer.write({ bars: [] }),
    ]);
    expect(written.map((w) => w.bars)).toEqual([1, 1, 1, 0]);
    await writer.write({ bars: [bar("B", "2024-01-02", 5)] });
    await writer.close();
    expect(await rows("SELECT symbol, close, source FROM bars_daily ORDER BY symbol")).toEqual([
      { symbol: "A", close: 2, source: "polygon" },
      { symbol: "B", close: 5, source: "polygon" },
      { symbol: "O'NEIL", close: 4, source: "polygon" },
    ]);
    // The staging tables are gone after close.
    expect(await rows("SELECT table_name FROM duckdb_tables() WHERE temporary")).toEqual([]);
  });

  it("rejects only the entry at fault when a batch fails, writing the others whole", async () => {
    const writer = new BarsWriter(store.db, "polygon");
    const outcomes = await Promise.allSettled([
      writer.write({ bars: [bar("A", "2024-01-02", 1), bar("A", "2024-01-03", 2)] }),
      writer.write({ bars: [bar("BAD", "2024-01-02", 1), bar("BAD", "2024-13-45", 2)] }),
      writer.write({ bars: [bar("C", "2024-01-02", 3)] }),
    ]);
    await writer.close();
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toContain("2024-13-45");
    expect(
      await rows("SELECT symbol, count(*)::INT AS n FROM bars_daily GROUP BY symbol ORDER BY symbol"),
    ).toEqual([
      { symbol: "A", n: 2 },
      { symbol: "C", n: 1 },
    ]);
  });

  it("writes two entries with the same key in one batch, the later one winning", async () => {
    const writer = new BarsWriter(store.db, "polygon");
    const outcomes = await Promise.allSettled([
      writer.write({ bars: [bar("A", "2024-01-02", 1)] }),
      writer.write({ bars: [bar("A", "2024-01-02", 9)] }),
    ]);
    await writer.close();
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(await rows("SELECT close FROM bars_daily")).toEqual([{ close: 9 }]);
  });

  it("stores corporate actions with the bars, in the same transaction", async () => {
    const writer = new BarsWriter(store.db, "yahoo");
    const result = await writer.write({
      bars: [{ ...bar("AAPL", "2020-08-31", 129), adj_close: 128.5 }],
      actions: [
        { symbol: "AAPL", date: "2020-08-31", kind: "split", value: 4, currency: null },
        { symbol: "AAPL", date: "2020-08-07", kind: "dividend", value: 0.82, currency: "USD" },
      ],
    });
    await writer.close();
    expect(result).toEqual({ bars: 1, actions: 2 });
    expect(await rows("SELECT adj_close, vwap, trades FROM bars_daily")).toEqual([
      { adj_close: 128.5, vwap: null, trades: null },
    ]);
    expect(
      await rows(
        "SELECT source, date::VARCHAR AS date, kind, value, currency FROM corporate_actions ORDER BY date",
      ),
    ).toEqual([
      { source: "yahoo", date: "2020-08-07", kind: "dividend", value: 0.82, currency: "USD" },
      { source: "yahoo", date: "2020-08-31", kind: "split", value: 4, currency: null },
    ]);
  });

  it("holds producers back while more rows than the limit are queued", async () => {
    const writer = new BarsWriter(store.db, "polygon", { maxQueuedRows: 2 });
    const first = writer.write({ bars: [bar("A", "2024-01-02", 1), bar("A", "2024-01-03", 1)] });
    let ready = false;
    const waiting = writer.whenReady().then(() => {
      ready = true;
    });
    expect(ready).toBe(false);
    await first;
    await waiting;
    expect(ready).toBe(true);
    await writer.close();
  });
});
