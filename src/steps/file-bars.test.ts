import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sessionsBetween } from "../calendar/index.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { fileBars } from "./file-bars.js";

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, dir, cleanup } = await tempStore());
  mkdirSync(join(dir, "data"));
});
afterEach(async () => {
  await cleanup();
});

function run(withParams: Record<string, unknown>, baseDir = dir) {
  const ctx = stepContext(store.db, { baseDir });
  return fileBars.run!(ctx, fileBars.params.parse(withParams));
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await store.db.runAndReadAll(sql)).getRowObjectsJson();
}

const bars = () =>
  rows(
    "SELECT source, symbol, CAST(date AS VARCHAR) AS date, open, high, low, close, volume, vwap, trades, adj_close FROM bars_daily ORDER BY source, symbol, date",
  );

/** A hash of every bars_daily row, ingested_at left out. */
async function tableHash(): Promise<string> {
  const [row] =
    await rows(`SELECT md5(coalesce(string_agg(concat_ws('|', source, symbol, date, open, high, low,
    close, volume, vwap, trades, adj_close), ';' ORDER BY source, symbol, date), '')) AS h FROM bars_daily`);
  return String(row?.h);
}

const HEADER = "symbol,date,open,high,low,close,volume,vwap,trades,adj_close";
const CSV = `${HEADER}
AAPL,2024-01-02,187.15,188.44,183.885,185.64,82488700,185.9,1009074,184.93
AAPL,2024-01-03,184.22,185.88,183.43,184.25,58414500,184.6,656974,183.54
MSFT,2024-01-02,373.86,375.9,366.77,370.87,25258600,370.1,426213,
`;

function write(name: string, text: string): string {
  const path = join(dir, "data", name);
  writeFileSync(path, name.endsWith(".gz") ? gzipSync(text) : text);
  return path;
}

describe("file.bars", () => {
  it("imports a CSV file", async () => {
    write("bars.csv", CSV);
    const out = await run({ path: "data/bars.csv", source: "sample" });
    expect(out).toEqual({ bars: 3, symbols: 2, files: 1 });
    const all = await bars();
    expect(all[0]).toEqual({
      source: "sample",
      symbol: "AAPL",
      date: "2024-01-02",
      open: 187.15,
      high: 188.44,
      low: 183.885,
      close: 185.64,
      volume: 82488700,
      vwap: 185.9,
      trades: "1009074",
      adj_close: 184.93,
    });
    expect(all[2]).toMatchObject({ symbol: "MSFT", adj_close: null });
    const [stamp] = await rows("SELECT count(*)::INTEGER AS n FROM bars_daily WHERE ingested_at IS NULL");
    expect(stamp?.n).toBe(0);
  });

  it("imports a CSV.gz file, and optional columns may be missing", async () => {
    write(
      "bars.csv.gz",
      "symbol,date,open,high,low,close,volume\nSPY,2024-01-02,472.16,473.67,470.49,472.65,123623700\n",
    );
    const out = await run({ path: "data/bars.csv.gz", source: "sample" });
    expect(out).toEqual({ bars: 1, symbols: 1, files: 1 });
    expect((await bars())[0]).toMatchObject({ symbol: "SPY", close: 472.65, vwap: null, trades: null });
  });

  it("imports a Parquet file written by DuckDB", async () => {
    const path = join(dir, "data", "bars.parquet");
    await store.db.run(`COPY (
      SELECT 'QQQ' AS symbol, DATE '2024-01-02' + i::INTEGER AS date, 400.0 + i AS open, 402.0 + i AS high,
        399.0 + i AS low, 401.0 + i AS close, (1000000 + i)::BIGINT AS volume, 400.5 + i AS vwap,
        (5000 + i)::BIGINT AS trades, 401.0 + i AS adj_close
      FROM range(5) r(i)) TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`);
    const out = await run({ path: "data/bars.parquet", source: "pq" });
    expect(out).toEqual({ bars: 5, symbols: 1, files: 1 });
    const all = await bars();
    expect(all.map((r) => r.date)).toEqual([
      "2024-01-02",
      "2024-01-03",
      "2024-01-04",
      "2024-01-05",
      "2024-01-06",
    ]);
    expect(all[4]).toMatchObject({ open: 404, close: 405, volume: 1000004, trades: "5004" });
  });

  it("imports every file a glob matches", async () => {
    write("a.csv", `${HEADER}\nAAA,2024-01-02,1,2,0.5,1.5,100,1.2,10,1.5\n`);
    write(
      "b.csv",
      `${HEADER}\nBBB,2024-01-02,1,2,0.5,1.5,100,1.2,10,1.5\nBBB,2024-01-03,1,2,0.5,1.5,100,1.2,10,1.5\n`,
    );
    write("other.txt", "not csv");
    const out = await run({ path: "data/*.csv", source: "sample" });
    expect(out).toEqual({ bars: 3, symbols: 2, files: 2 });
  });

  it("maps columns, takes symbol for a symbol-less file, and filters symbols", async () => {
    write(
      "msft.csv",
      "Day,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,373.86,375.9,366.77,370.87,368.1,25258600\n2024-01-03,369.01,373.26,368.51,370.6,367.8,23083500\n",
    );
    const out = await run({
      path: "data/msft.csv",
      source: "yahoo-file",
      symbol: "MSFT",
      columns: {
        date: "Day",
        open: "Open",
        high: "High",
        low: "Low",
        close: "Close",
        volume: "Volume",
        adj_close: "Adj Close",
      },
    });
    expect(out).toEqual({ bars: 2, symbols: 1, files: 1 });
    expect((await bars())[1]).toMatchObject({
      symbol: "MSFT",
      date: "2024-01-03",
      close: 370.6,
      adj_close: 367.8,
    });

    write(
      "mapped.csv",
      "ticker,day,o,h,l,c,v\nAAPL,2024-01-02,1,2,0.5,1.5,10\nIBM,2024-01-02,1,2,0.5,1.5,10\n",
    );
    const mapped = await run({
      path: "data/mapped.csv",
      source: "mapped",
      symbols: ["IBM"],
      columns: { symbol: "ticker", date: "day", open: "o", high: "h", low: "l", close: "c", volume: "v" },
    });
    expect(mapped).toEqual({ bars: 1, symbols: 1, files: 1 });
    expect(await rows("SELECT symbol FROM bars_daily WHERE source = 'mapped'")).toEqual([{ symbol: "IBM" }]);
  });

  it("filters symbols of a plain CSV", async () => {
    write("bars.csv", CSV);
    const out = await run({ path: "data/bars.csv", source: "sample", symbols: ["MSFT", "NOPE"] });
    expect(out).toEqual({ bars: 1, symbols: 1, files: 1 });
  });

  it("imports Polygon day_aggs_v1 flat files with session dates in New York", async () => {
    // Midnight in New York: 05:00Z in winter (EST), 04:00Z in summer (EDT).
    const winter = BigInt(Date.UTC(2024, 0, 2, 5)) * 1_000_000n;
    const summer = BigInt(Date.UTC(2024, 6, 1, 4)) * 1_000_000n;
    // 23:30 in New York on 2024-03-15 is already 2024-03-16 in UTC.
    const late = BigInt(Date.UTC(2024, 2, 16, 3, 30)) * 1_000_000n;
    write(
      "2024-01-02.csv.gz",
      `ticker,volume,open,close,high,low,window_start,transactions
AAPL,82488700,187.15,185.64,188.44,183.885,${winter},1009074
MSFT,25258600,373.86,370.87,375.9,366.77,${winter},426213
`,
    );
    write(
      "2024-07-01.csv.gz",
      `ticker,volume,open,close,high,low,window_start,transactions
AAPL,60402900,212.09,216.75,217.51,211.92,${summer},800000
AAPL,1000,1,1,1,1,${late},1
`,
    );
    const out = await run({ path: "data/*.csv.gz", format: "polygon_flat_files", source: "polygon" });
    expect(out).toEqual({ bars: 4, symbols: 2, files: 2 });
    expect(
      await rows(
        "SELECT symbol, CAST(date AS VARCHAR) AS date, close, trades::INTEGER AS trades FROM bars_daily ORDER BY symbol, date",
      ),
    ).toEqual([
      { symbol: "AAPL", date: "2024-01-02", close: 185.64, trades: 1009074 },
      { symbol: "AAPL", date: "2024-03-15", close: 1, trades: 1 },
      { symbol: "AAPL", date: "2024-07-01", close: 216.75, trades: 800000 },
      { symbol: "MSFT", date: "2024-01-02", close: 370.87, trades: 426213 },
    ]);
  });

  it("is idempotent: the same import twice leaves the same rows", async () => {
    write("bars.csv", CSV);
    await run({ path: "data/bars.csv", source: "sample" });
    const hash = await tableHash();
    const [before] = await rows("SELECT count(*)::INTEGER AS n FROM bars_daily");
    const out = await run({ path: "data/bars.csv", source: "sample" });
    expect(out).toEqual({ bars: 3, symbols: 2, files: 1 });
    const [after] = await rows("SELECT count(*)::INTEGER AS n FROM bars_daily");
    expect(after?.n).toBe(before?.n);
    expect(await tableHash()).toBe(hash);
  });

  it("rejects a file with a non-numeric close, naming the file, and writes nothing", async () => {
    write("good.csv", CSV);
    await run({ path: "data/good.csv", source: "sample" });
    const hash = await tableHash();
    const path = write(
      "bad.csv",
      `${HEADER}\nAAPL,2024-01-04,182.15,183.09,180.88,181.91,71983600,182,1,181\nAAPL,2024-01-05,181.99,182.76,180.17,n/a,62303300,181,1,180\n`,
    );
    await expect(run({ path: "data/bad.csv", source: "sample" })).rejects.toThrow(
      new RegExp(
        `${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*2024-01-05.*column close is not a number \\("n/a"\\)`,
      ),
    );
    expect(await tableHash()).toBe(hash);
    const [count] = await rows("SELECT count(*)::INTEGER AS n FROM bars_daily");
    expect(count?.n).toBe(3);
  });

  it("rejects a (symbol, date) given twice, naming the files, and writes nothing", async () => {
    write("a.csv", `${HEADER}\nAAA,2024-01-02,1,2,0.5,1.5,100,1.2,10,1.5\n`);
    write("b.csv", `${HEADER}\nAAA,2024-01-02,1,2,0.5,1.6,100,1.2,10,1.6\n`);
    await expect(run({ path: "data/*.csv", source: "sample" })).rejects.toThrow(
      /a\.csv.*b\.csv.*2 rows for symbol "AAA", date 2024-01-02/,
    );
    const [count] = await rows("SELECT count(*)::INTEGER AS n FROM bars_daily");
    expect(count?.n).toBe(0);
  });

  it("rejects a missing symbol column with a hint", async () => {
    write("nosym.csv", "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n");
    await expect(run({ path: "data/nosym.csv", source: "sample" })).rejects.toThrow(
      /no column "symbol".*give symbol/,
    );
  });

  it("fails clearly when no file matches", async () => {
    await expect(run({ path: "data/*.parquet", source: "sample" })).rejects.toThrow(
      /no file matches data\/\*\.parquet/,
    );
    await expect(run({ path: "data/missing.csv", source: "sample" })).rejects.toThrow(
      /no file matches data\/missing\.csv/,
    );
  });

  it("handles paths with single quotes", async () => {
    mkdirSync(join(dir, "o'brien"));
    writeFileSync(join(dir, "o'brien", "bars.csv"), CSV);
    const out = await run({ path: "o'brien/*.csv", source: "sample" });
    expect(out).toEqual({ bars: 3, symbols: 2, files: 1 });
  });

  it("stops when the signal is aborted", async () => {
    write("bars.csv", CSV);
    const controller = new AbortController();
    controller.abort(new Error("task timed out"));
    const ctx = stepContext(store.db, { baseDir: dir, signal: controller.signal });
    await expect(
      fileBars.run!(ctx, fileBars.params.parse({ path: "data/bars.csv", source: "s" })),
    ).rejects.toThrow("task timed out");
    const [count] = await rows("SELECT count(*)::INTEGER AS n FROM bars_daily");
    expect(count?.n).toBe(0);
  });

  it("imports the bundled synthetic demo sample", async () => {
    const pipelines = fileURLToPath(new URL("../../pipelines/", import.meta.url));
    const out = await run({ path: "data/demo-synthetic-bars.csv.gz", source: "demo-synthetic" }, pipelines);
    const sessions = sessionsBetween("2016-01-04", "2025-12-31").length;
    expect(sessions).toBe(2514);
    expect(out).toEqual({ bars: 4 * sessions, symbols: 4, files: 1 });
    const [summary] = await rows(`SELECT count(DISTINCT date)::INTEGER AS dates, min(date)::VARCHAR AS first,
      max(date)::VARCHAR AS last, count(*) FILTER (WHERE NOT (low <= least(open, close) AND greatest(open, close) <= high
      AND vwap BETWEEN low AND high AND adj_close = close))::INTEGER AS inconsistent FROM bars_daily`);
    expect(summary).toEqual({ dates: sessions, first: "2016-01-04", last: "2025-12-31", inconsistent: 0 });
    expect((await rows("SELECT DISTINCT symbol FROM bars_daily ORDER BY 1")).map((r) => r.symbol)).toEqual([
      "SYNA",
      "SYNB",
      "SYNC",
      "SYND",
    ]);
  });
});
