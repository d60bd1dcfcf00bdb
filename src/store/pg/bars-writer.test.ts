/**
 * `BarsWriterPg` against a throwaway PostgreSQL, and `BarsWriter` against a DuckDB file, fed the same
 * entries: each writes the same bars_daily, corporate_actions and bar_symbols, row for row (doubles
 * bit for bit: -0, NaN, the extremes, 17-digit values), resolves and rejects the same entries (a
 * bad one rejected alone, its batch-mates landing), and counts the same bars in the metrics.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../../tests/helpers/postgres.js";
import type { Bar, BarsEntry, BarsSink, CorporateAction } from "../../market/bars.js";
import { type MetricsSink, setMetricsSink } from "../../metrics/record.js";
import { barSymbolsDifferences } from "../bar-symbols.js";
import { BarsWriter } from "../bars-writer.js";
import type { BarsWriterOptions } from "../group-commit.js";
import type { Store } from "../open.js";
import { tempStore } from "../testing.js";
import { barSymbolsDifferencesPg } from "./bar-symbols.js";
import { BarsWriterPg } from "./bars-writer.js";
import { migratePg } from "./migrate.js";
import { openPgPool, type PgStore } from "./pool.js";

const bar = (symbol: string, date: string, close: number, more: Partial<Bar> = {}): Bar => ({
  symbol,
  date,
  open: close,
  high: close,
  low: close,
  close,
  volume: 100,
  ...more,
});

const action = (symbol: string, date: string, more: Partial<CorporateAction> = {}): CorporateAction => ({
  symbol,
  date,
  kind: "dividend",
  value: 0.24,
  currency: "USD",
  ...more,
});

/** One backend as the test sees it: a writer, and rows read with SQL both dialects accept. */
interface Backend {
  name: string;
  writer(source: string, options?: BarsWriterOptions): BarsSink;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  differences(): Promise<unknown[]>;
  empty(): Promise<void>;
}

// Everything but ingested_at; dates and the BIGINT as text (both dialects know `::text`).
const BARS = `SELECT source, symbol, date::text AS date, open, high, low, close, volume, vwap,
  trades::text AS trades, adj_close FROM bars_daily ORDER BY source, symbol, date`;
const ACTIONS = `SELECT source, symbol, date::text AS date, kind, value, currency FROM corporate_actions
  ORDER BY source, symbol, date, kind`;
const SUMMARY = `SELECT source, symbol, first_date::text AS first_date, last_date::text AS last_date,
  bars::integer AS bars FROM bar_symbols ORDER BY source, symbol`;

/** What each backend ends with after `writeScenario`, and the writes' outcomes. */
interface Outcome {
  settled: string[];
  bars: Record<string, unknown>[];
  actions: Record<string, unknown>[];
  summary: Record<string, unknown>[];
  counted: number;
}

/** Values whose text is easy to get wrong: each must come back as the same double. */
const HARD = [0.1 + 0.2, 1 / 3, -0, 5e-324, 1.7976931348623157e308, 1e21, 123456789.12345679, Number.NaN];

async function writeScenario(backend: Backend): Promise<Outcome> {
  await backend.empty();
  let counted = 0;
  const metrics = { barsWritten: (_source: string, n: number) => (counted += n) } as unknown as MetricsSink;
  const previous = setMetricsSink(metrics);
  try {
    const writer = backend.writer("polygon", { maxBatchRows: 50 });
    const entries: BarsEntry[] = [
      // Hard doubles, a rounded trade count, Infinity, a missing volume.
      {
        bars: HARD.map((x, i) =>
          bar("HARD", `2024-01-${String(i + 2).padStart(2, "0")}`, x, {
            vwap: -x,
            trades: 12.6 + i,
            adj_close: i === 0 ? Number.POSITIVE_INFINITY : null,
            volume: i === 1 ? null : 1e9 + i,
          }),
        ),
      },
      // A duplicate key within the entry: the last wins, counted once.
      { bars: [bar("DUP", "2024-01-02", 1), bar("DUP", "2024-01-03", 1), bar("DUP", "2024-01-02", 2)] },
      // Quotes, a comma, a newline and non-ASCII in text fields (CSV's hard cases).
      {
        bars: [bar(`O'NEIL,"X"`, "2024-01-02", 4), bar("ÆØÅ\nZ", "2024-01-02", 5)],
        actions: [action(`O'NEIL,"X"`, "2024-01-02", { currency: 'E"U,R' })],
      },
      // A NOT NULL violated in the database: rejected alone.
      { bars: [bar("NN", "2024-01-02", 1), bar(null as unknown as string, "2024-01-03", 1)] },
      // A CHECK violated in the database (corporate_actions.kind): the entry's bars do not land either.
      {
        bars: [bar("CHK", "2024-01-02", 1)],
        actions: [action("CHK", "2024-01-02", { kind: "merger" as "split" })],
      },
      // A date that is none: refused before any statement.
      { bars: [bar("BADDATE", "2024-01-02", 1), bar("BADDATE", "2024-13-45", 2)] },
      // A trade count that is no integer at all.
      { bars: [bar("NANTRADES", "2024-01-02", 1, { trades: Number.NaN })] },
      // Splits and dividends with the bars.
      {
        bars: [bar("AAPL", "2020-08-31", 129, { adj_close: 128.5 })],
        actions: [
          action("AAPL", "2020-08-31", { kind: "split", value: 4, currency: null }),
          action("AAPL", "2020-08-07", { value: 0.82 }),
        ],
      },
      // Two entries with one key in flight together: the later one wins (they go to separate batches).
      { bars: [bar("TWICE", "2024-01-02", 1)] },
      { bars: [bar("TWICE", "2024-01-02", 9)] },
      // Many rows: more than one batch (maxBatchRows 50).
      ...Array.from({ length: 12 }, (_, s) => ({
        bars: Array.from({ length: 20 }, (_, d) =>
          bar(
            `S${s}`,
            `2023-${String(1 + (d % 12)).padStart(2, "0")}-${String(1 + d).padStart(2, "0")}`,
            s + d / 7,
          ),
        ),
      })),
    ];
    const first = await Promise.allSettled(entries.map((e) => writer.write(e)));
    // Later: a replaced bar (not counted again in bar_symbols), a new earlier date, a second source.
    const later = await Promise.allSettled([
      writer.write({ bars: [bar("DUP", "2024-01-03", 7), bar("DUP", "2023-12-29", 7)] }),
      writer.write({ actions: [action("AAPL", "2020-08-07", { value: 0.83 })], bars: [] }),
    ]);
    await writer.close();
    const yahoo = backend.writer("yahoo");
    await yahoo.write({ bars: [bar("DUP", "2024-01-02", 3)] });
    await yahoo.close();
    const settled = [...first, ...later].map((o) =>
      o.status === "fulfilled" ? `${o.value.bars}/${o.value.actions}` : "rejected",
    );
    expect(await backend.differences()).toEqual([]);
    return {
      settled,
      bars: await backend.rows(BARS),
      actions: await backend.rows(ACTIONS),
      summary: await backend.rows(SUMMARY),
      counted,
    };
  } finally {
    setMetricsSink(previous);
  }
}

pgDescribe("BarsWriterPg: the same rows as BarsWriter", (server) => {
  let pg: PgStore;
  let duck: Store;
  let cleanupDuck: () => Promise<void>;
  const backends: Backend[] = [];
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
    ({ store: duck, cleanup: cleanupDuck } = await tempStore());
    backends.push(
      {
        name: "duckdb",
        writer: (source, options) => new BarsWriter(duck.db, source, options),
        rows: async (sql) =>
          (await duck.db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
        differences: () => barSymbolsDifferences(duck.db),
        empty: async () => {
          await duck.db.run("DELETE FROM bars_daily; DELETE FROM corporate_actions; DELETE FROM bar_symbols");
        },
      },
      {
        name: "postgresql",
        writer: (source, options) => new BarsWriterPg(pg.pool, source, options),
        rows: async (sql) => (await pg.pool.query(sql)).rows,
        differences: () => barSymbolsDifferencesPg(pg.pool),
        empty: async () => {
          await pg.pool.query("TRUNCATE bars_daily, corporate_actions, bar_symbols");
        },
      },
    );
  });
  afterAll(async () => {
    await pg?.close();
    await cleanupDuck?.();
  });

  it("writes the same bars, actions and bar_symbols as DuckDB, rejecting the same entries alone", async () => {
    const [onDuck, onPg] = [await writeScenario(backends[0]!), await writeScenario(backends[1]!)];
    // What DuckDB does, spelled out: the bad entries (NOT NULL, CHECK, date, trades) alone rejected.
    expect(onDuck.settled).toEqual([
      "8/0",
      "2/0",
      "2/1",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "1/2",
      "1/0",
      "1/0",
      ...Array(12).fill("20/0"),
      "2/0",
      "0/1",
    ]);
    expect(onDuck.summary.filter((r) => r.symbol === "DUP")).toEqual([
      { source: "polygon", symbol: "DUP", first_date: "2023-12-29", last_date: "2024-01-03", bars: 3 },
      { source: "yahoo", symbol: "DUP", first_date: "2024-01-02", last_date: "2024-01-02", bars: 1 },
    ]);
    expect(
      onDuck.bars.filter((r) => ["NN", "CHK", "BADDATE", "NANTRADES"].includes(String(r.symbol))),
    ).toEqual([]);
    expect(onDuck.bars.find((r) => r.symbol === "TWICE")?.close).toBe(9);
    expect(onDuck.bars).toHaveLength(8 + 3 + 2 + 1 + 1 + 240 + 1);
    expect(onDuck.counted).toBe(8 + 2 + 2 + 1 + 1 + 1 + 240 + 2 + 1);
    // And PostgreSQL the same, row for row, value for value (toEqual tells -0 from 0, NaN equals NaN).
    expect(onPg).toEqual(onDuck);
    const hard = onPg.bars.filter((r) => r.symbol === "HARD");
    expect(hard.map((r) => r.close)).toEqual(HARD);
    expect(hard.map((r) => r.vwap)).toEqual(HARD.map((x) => -x));
    expect(hard[0]).toMatchObject({ trades: "13", adj_close: Number.POSITIVE_INFINITY });
  });

  describe("on PostgreSQL", () => {
    let writerPg: (options?: BarsWriterOptions) => BarsWriterPg;
    beforeEach(async () => {
      await pg.pool.query("TRUNCATE bars_daily, corporate_actions, bar_symbols");
      writerPg = (options) => new BarsWriterPg(pg.pool, "polygon", options);
    });

    it("leaves no staging table and no connection in a transaction", async () => {
      const writer = writerPg();
      await Promise.all([
        writer.write({ bars: [bar("A", "2024-01-02", 1)] }),
        writer.write({ bars: [bar("B", "2024-01-02", 1)], actions: [action("B", "2024-01-02")] }),
      ]);
      await writer.write({ bars: [bar("C", "2024-13-01", 1)] }).catch(() => undefined);
      await writer.close();
      const { rows } = await pg.pool.query(
        `SELECT (SELECT count(*)::int FROM pg_class WHERE relpersistence = 't') AS temp_tables,
           (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database()
             AND state LIKE 'idle in transaction%') AS idle_in_tx`,
      );
      expect(rows).toEqual([{ temp_tables: 0, idle_in_tx: 0 }]);
    });

    it("refuses queued entries once the signal aborts, and holds producers back while full", async () => {
      const controller = new AbortController();
      const writer = writerPg({ signal: controller.signal, maxQueuedRows: 2 });
      const first = writer.write({ bars: [bar("A", "2024-01-02", 1), bar("A", "2024-01-03", 1)] });
      let ready = false;
      const waiting = writer.whenReady().then(() => {
        ready = true;
      });
      expect(ready).toBe(false);
      await first;
      await waiting;
      expect(ready).toBe(true);
      // Queued behind a batch in flight, then cancelled: refused with the signal's reason.
      const inFlight = writer.write({ bars: [bar("B", "2024-01-02", 1)] });
      await new Promise((resolve) => setImmediate(resolve));
      const queued = writer.write({ bars: [bar("B", "2024-01-02", 2)] });
      controller.abort(new Error("run cancelled"));
      await expect(queued).rejects.toThrow("run cancelled");
      await inFlight;
      await expect(writer.write({ bars: [bar("C", "2024-01-02", 1)] })).rejects.toThrow("run cancelled");
      await writer.close();
      const { rows } = await pg.pool.query("SELECT symbol, close FROM bars_daily ORDER BY symbol, date");
      expect(rows).toEqual([
        { symbol: "A", close: 1 },
        { symbol: "A", close: 1 },
        { symbol: "B", close: 1 },
      ]);
    });
  });
});
