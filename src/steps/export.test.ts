/**
 * The export step on both backends, same assertions: on PostgreSQL the rows come from there (the
 * query in its dialect) through the scratch DuckDB, which writes the file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { describeBackends } from "../../tests/helpers/step-backends.js";
import type { JsonValue } from "../store/values.js";
import { exportStep } from "./export.js";

const cwd = process.cwd();

/** The columns compared, the same JSON on both backends (a timestamp as epoch seconds). */
const COLUMNS = `source, symbol, CAST(date AS VARCHAR) AS date, open, high, low, close, volume, vwap,
  CAST(trades AS DOUBLE PRECISION) AS trades, adj_close, CAST(extract(epoch FROM ingested_at) AS DOUBLE PRECISION) AS ingested`;

describeBackends("export step", (b) => {
  const dir = () => b.dir();
  beforeEach(async () => {
    const rows = b.backend === "duckdb" ? "range(20) r(i)" : "generate_series(0, 19) r(i)";
    await b.exec(`
      INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
      SELECT 'sample', s.symbol, DATE '2024-01-02' + CAST(i AS INTEGER), 100 + i, 101 + i, 99 + i, 100.5 + i,
        1e6 * (i + 1), 100.25 + i, 1000 + i, NULL, TIMESTAMPTZ '2024-02-01 00:00:00.123456+00'
      FROM ${rows}, (VALUES ('AAPL'), ('MSFT'), ('O''Reilly')) s(symbol)`);
  });
  afterEach(() => {
    process.chdir(cwd);
  });

  function run(withParams: Record<string, unknown>, signal?: AbortSignal) {
    const ctx = b.ctx({ baseDir: join(dir(), "pipelines"), ...(signal ? { signal } : {}) });
    return exportStep.run!(ctx, exportStep.params.parse(withParams));
  }

  /** What the store holds (`where` in both dialects), in a fixed order. */
  const stored = (where = "true") =>
    b.rows(`SELECT ${COLUMNS} FROM bars_daily WHERE ${where} ORDER BY symbol, date`);

  /** What the file holds, read by DuckDB (`reader`: read_parquet(...) or read_csv(...)). */
  async function inFile(reader: string, columns = COLUMNS): Promise<JsonValue[][]> {
    const result = await b.duck().runAndReadAll(`SELECT ${columns} FROM ${reader} ORDER BY symbol, date`);
    return result.getRowsJson() as JsonValue[][];
  }

  it("writes a whole table to Parquet, creating parent folders, keeping the types", async () => {
    const path = join(dir(), "out", "deep", "bars.parquet");
    const out = await run({ table: "bars_daily", path });
    expect(out).toEqual({ rows: 60, path });
    const rows = await inFile(`read_parquet(${quote(path)})`);
    expect(rows).toEqual(await stored());
    expect(rows[0]?.at(-1)).toBe(1706745600.123456);
    const types = await b.duck().runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quote(path)})`);
    expect(types.getRowObjectsJson().map((r) => [r.column_name, r.column_type])).toEqual([
      ["source", "VARCHAR"],
      ["symbol", "VARCHAR"],
      ["date", "DATE"],
      ["open", "DOUBLE"],
      ["high", "DOUBLE"],
      ["low", "DOUBLE"],
      ["close", "DOUBLE"],
      ["volume", "DOUBLE"],
      ["vwap", "DOUBLE"],
      ["trades", "BIGINT"],
      ["adj_close", "DOUBLE"],
      ["ingested_at", "TIMESTAMP WITH TIME ZONE"],
    ]);
  });

  it("writes a query with params to CSV with a header", async () => {
    const path = join(dir(), "aapl.csv");
    const query =
      "SELECT symbol, date, close FROM bars_daily WHERE symbol = $symbol AND date < $until ORDER BY date";
    const out = await run({ query, path, params: { symbol: "AAPL", until: "2024-01-07" } });
    expect(out).toEqual({ rows: 5, path });
    expect(readFileSync(path, "utf8").split("\n").slice(0, 2)).toEqual([
      "symbol,date,close",
      "AAPL,2024-01-02,100.5",
    ]);
    const columns = "symbol, CAST(date AS VARCHAR) AS date, close";
    expect(await inFile(`read_csv(${quote(path)}, header = true)`, columns)).toEqual(
      await b.rows(
        `SELECT ${columns} FROM bars_daily WHERE symbol = 'AAPL' AND date < DATE '2024-01-07' ORDER BY date`,
      ),
    );
  });

  it("gzips .csv.gz, and takes the format from params over the extension", async () => {
    const gz = join(dir(), "bars.csv.gz");
    await run({ table: "bars_daily", path: gz });
    expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(await inFile(`read_csv(${quote(gz)})`)).toEqual(await stored());

    const data = join(dir(), "bars.data");
    await run({
      table: b.backend === "duckdb" ? "main.bars_daily" : "public.bars_daily",
      path: data,
      format: "parquet",
    });
    expect(await inFile(`read_parquet(${quote(data)})`)).toEqual(await stored());
  });

  it("keeps a query ending in a comment or a semicolon whole", async () => {
    const path = join(dir(), "one.csv");
    expect(await run({ query: "SELECT 1 AS one; -- the answer", path })).toEqual({ rows: 1, path });
    expect(readFileSync(path, "utf8")).toBe("one\n1\n");
    await expect(run({ query: "SELECT 1; SELECT 2", path: join(dir(), "two.csv") })).rejects.toThrow(
      "expected a single SQL statement, found several",
    );
  });

  it("resolves a relative path against the working directory, quoting it safely", async () => {
    mkdirSync(join(dir(), "work"));
    process.chdir(join(dir(), "work"));
    const out = await run({ table: "bars_daily", path: "it's here/bars.parquet" });
    expect(out.path).toBe(resolve(dir(), "work", "it's here", "bars.parquet"));
    expect(existsSync(out.path as string)).toBe(true);
  });

  it("with overwrite false, fails on an existing file and leaves it alone; by default replaces it", async () => {
    const path = join(dir(), "bars.csv");
    writeFileSync(path, "keep me\n");
    await expect(run({ table: "bars_daily", path, overwrite: false })).rejects.toThrow(
      `${path} exists and overwrite is false`,
    );
    expect(readFileSync(path, "utf8")).toBe("keep me\n");
    expect(await run({ table: "bars_daily", path })).toEqual({ rows: 60, path });
    expect(readFileSync(path, "utf8")).toMatch(/^source,symbol,date,/);
    const fresh = join(dir(), "fresh.csv");
    expect(await run({ table: "bars_daily", path: fresh, overwrite: false })).toEqual({
      rows: 60,
      path: fresh,
    });
  });

  it("leaves no file behind when the query fails", async () => {
    const path = join(dir(), "failed", "x.parquet");
    await expect(run({ query: "SELECT * FROM missing_table", path })).rejects.toThrow(/missing_table/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(dir(), "failed"))).toEqual([]);
  });

  it("stops when the signal aborts, leaving no file", async () => {
    const controller = new AbortController();
    const path = join(dir(), "big.parquet");
    setTimeout(() => controller.abort(new Error("cancelled")), 200);
    const query =
      b.backend === "duckdb"
        ? "SELECT i, i * 2 AS j FROM range(10000000000) r(i)"
        : "SELECT i, pg_sleep(60) AS j FROM generate_series(1, 2) i";
    const started = Date.now();
    await expect(run({ query, path }, controller.signal)).rejects.toThrow("cancelled");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readdirSync(dir()).filter((name) => name.includes("big"))).toEqual([]);
  });

  if (b.backend === "postgresql") {
    it("keeps PostgreSQL's types: bigints, numerics, timestamps to the microsecond, json, empty text vs null", async () => {
      const path = join(dir(), "types.parquet");
      const out = await run({
        query: `SELECT 9007199254740993::bigint AS big, 1.25::numeric AS num, 'NaN'::float8 AS nan,
          TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05.000001+02' AS tstz,
          '{"a": 1}'::jsonb AS j, '' AS empty, NULL::text AS nothing, 'say "hi", ok' AS quoted,
          ARRAY[1, 2] AS arr, true AS flag, 7::smallint AS small, 1 AS one, 1 AS one`,
        path,
      });
      expect(out.rows).toBe(1);
      const file = `read_parquet(${quote(path)})`;
      const types = await b.duck().runAndReadAll(`DESCRIBE SELECT * FROM ${file}`);
      expect(types.getRowObjectsJson().map((r) => `${r.column_name} ${r.column_type}`)).toEqual([
        "big BIGINT",
        "num DOUBLE",
        "nan DOUBLE",
        "ts TIMESTAMP",
        "tstz TIMESTAMP WITH TIME ZONE",
        "j JSON",
        "empty VARCHAR",
        "nothing VARCHAR",
        "quoted VARCHAR",
        "arr VARCHAR",
        "flag BOOLEAN",
        "small INTEGER",
        "one INTEGER",
        "one:1 INTEGER",
      ]);
      const values = await b
        .duck()
        .runAndReadAll(
          `SELECT big::VARCHAR, num, isnan(nan), epoch_us(ts), epoch_us(tstz), j->>'a', empty, nothing, quoted, arr, flag FROM ${file}`,
        );
      expect(values.getRowsJson()).toEqual([
        [
          "9007199254740993",
          1.25,
          true,
          "1704164645123456",
          "1704157445000001",
          "1",
          "",
          null,
          'say "hi", ok',
          "{1,2}",
          true,
        ],
      ]);
    });
  }
});

function quote(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}
