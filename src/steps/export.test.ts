import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { exportStep } from "./export.js";

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
const cwd = process.cwd();
beforeEach(async () => {
  ({ store, dir, cleanup } = await tempStore());
  await store.db.run(`
    INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
    SELECT 'sample', s.symbol, DATE '2024-01-02' + i::INTEGER, 100 + i, 101 + i, 99 + i, 100.5 + i, 1e6 * (i + 1),
      100.25 + i, 1000 + i, NULL, TIMESTAMPTZ '2024-02-01 00:00:00+00'
    FROM range(20) r(i), (VALUES ('AAPL'), ('MSFT'), ('O''Reilly')) s(symbol)`);
});
afterEach(async () => {
  process.chdir(cwd);
  await cleanup();
});

function run(withParams: Record<string, unknown>, signal?: AbortSignal) {
  const ctx = stepContext(store.db, { baseDir: join(dir, "pipelines"), ...(signal ? { signal } : {}) });
  return exportStep.run!(ctx, exportStep.params.parse(withParams));
}

/** Rows of `a` missing from `b` plus rows of `b` missing from `a`: 0 when they hold the same rows. */
async function difference(a: string, b: string): Promise<number> {
  const reader = await store.db.runAndReadAll(
    `SELECT count(*)::INTEGER FROM ((${a} EXCEPT ALL ${b}) UNION ALL (${b} EXCEPT ALL ${a}))`,
  );
  return Number(reader.getRows()[0]?.[0]);
}

function quote(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

describe("export step", () => {
  it("writes a whole table to Parquet, creating parent folders", async () => {
    const path = join(dir, "out", "deep", "bars.parquet");
    const out = await run({ table: "bars_daily", path });
    expect(out).toEqual({ rows: 60, path });
    expect(await difference("SELECT * FROM bars_daily", `SELECT * FROM read_parquet(${quote(path)})`)).toBe(
      0,
    );
    const types = await store.db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quote(path)})`);
    expect(types.getRowObjectsJson().map((r) => [r.column_name, r.column_type])).toContainEqual([
      "date",
      "DATE",
    ]);
  });

  it("writes a query with params to CSV with a header", async () => {
    const path = join(dir, "aapl.csv");
    const query =
      "SELECT symbol, date, close FROM bars_daily WHERE symbol = $symbol AND date < $until ORDER BY date";
    const out = await run({ query, path, params: { symbol: "AAPL", until: "2024-01-07" } });
    expect(out).toEqual({ rows: 5, path });
    expect(readFileSync(path, "utf8").split("\n")[0]).toBe("symbol,date,close");
    expect(
      await difference(
        "SELECT symbol, date, close FROM bars_daily WHERE symbol = 'AAPL' AND date < DATE '2024-01-07'",
        `SELECT * FROM read_csv(${quote(path)}, header = true)`,
      ),
    ).toBe(0);
  });

  it("gzips .csv.gz, and takes the format from params over the extension", async () => {
    const gz = join(dir, "bars.csv.gz");
    await run({ table: "bars_daily", path: gz });
    expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(await difference("SELECT * FROM bars_daily", `SELECT * FROM read_csv(${quote(gz)})`)).toBe(0);

    const data = join(dir, "bars.data");
    await run({ table: "main.bars_daily", path: data, format: "parquet" });
    expect(await difference("SELECT * FROM bars_daily", `SELECT * FROM read_parquet(${quote(data)})`)).toBe(
      0,
    );
  });

  it("keeps a query ending in a comment or a semicolon whole", async () => {
    const path = join(dir, "one.csv");
    expect(await run({ query: "SELECT 1 AS one; -- the answer", path })).toEqual({ rows: 1, path });
    expect(readFileSync(path, "utf8")).toBe("one\n1\n");
    await expect(run({ query: "SELECT 1; SELECT 2", path: join(dir, "two.csv") })).rejects.toThrow(
      "expected a single SQL statement, found several",
    );
  });

  it("resolves a relative path against the working directory, quoting it safely", async () => {
    mkdirSync(join(dir, "work"));
    process.chdir(join(dir, "work"));
    const out = await run({ table: "bars_daily", path: "it's here/bars.parquet" });
    expect(out.path).toBe(resolve(dir, "work", "it's here", "bars.parquet"));
    expect(existsSync(out.path as string)).toBe(true);
  });

  it("with overwrite false, fails on an existing file and leaves it alone; by default replaces it", async () => {
    const path = join(dir, "bars.csv");
    writeFileSync(path, "keep me\n");
    await expect(run({ table: "bars_daily", path, overwrite: false })).rejects.toThrow(
      `${path} exists and overwrite is false`,
    );
    expect(readFileSync(path, "utf8")).toBe("keep me\n");
    expect(await run({ table: "bars_daily", path })).toEqual({ rows: 60, path });
    expect(readFileSync(path, "utf8")).toMatch(/^source,symbol,date,/);
    const fresh = join(dir, "fresh.csv");
    expect(await run({ table: "bars_daily", path: fresh, overwrite: false })).toEqual({
      rows: 60,
      path: fresh,
    });
  });

  it("leaves no file behind when the query fails", async () => {
    const path = join(dir, "failed", "x.parquet");
    await expect(run({ query: "SELECT * FROM missing_table", path })).rejects.toThrow(/missing_table/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(dir, "failed"))).toEqual([]);
  });

  it("stops when the signal aborts, leaving no file", async () => {
    const controller = new AbortController();
    const path = join(dir, "big.parquet");
    setTimeout(() => controller.abort(new Error("cancelled")), 200);
    await expect(
      run({ query: "SELECT i, i * 2 AS j FROM range(10000000000) r(i)", path }, controller.signal),
    ).rejects.toThrow("cancelled");
    expect(readdirSync(dir).filter((name) => name.includes("big"))).toEqual([]);
  });
});
