/**
 * `file.bars` on both backends: on PostgreSQL the files are read and checked in the scratch DuckDB
 * as on DuckDB, then written to PostgreSQL in one transaction. Each scenario runs on a DuckDB file and
 * on PostgreSQL and must give the same outputs, errors and rows (bars_daily and an exact
 * bar_symbols), doubles bit for bit; a failure at the last row (after thousands were copied) leaves
 * nothing on either.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { type TestBackend, testBackends } from "../store/pg/testing.js";
import { tempDir } from "../store/testing.js";
import { fileBars } from "./file-bars.js";

const BARS = `SELECT source, symbol, date::text AS date, open, high, low, close, volume, vwap,
  trades::text AS trades, adj_close FROM bars_daily ORDER BY source, symbol, date`;
const SUMMARY = `SELECT source, symbol, first_date::text AS first_date, last_date::text AS last_date,
  bars::integer AS bars FROM bar_symbols ORDER BY source, symbol`;

const HEADER = "symbol,date,open,high,low,close,volume,vwap,trades,adj_close";

/** What a scenario ends with on one backend. */
interface Outcome {
  outputs: unknown[];
  bars: Record<string, unknown>[];
  summary: Record<string, unknown>[];
}

pgDescribe("file.bars on DuckDB and PostgreSQL", (pg) => {
  let backends: TestBackend[];
  let dir: string;
  let removeDir: () => void;
  beforeAll(async () => {
    backends = await testBackends(pg.url());
    ({ dir, cleanup: removeDir } = tempDir());
    mkdirSync(join(dir, "data"));
  });
  afterAll(async () => {
    for (const backend of backends ?? []) await backend.close();
    removeDir?.();
  });

  const write = (name: string, text: string): string => {
    const path = join(dir, "data", name);
    writeFileSync(path, name.endsWith(".gz") ? gzipSync(text) : text);
    return path;
  };

  /** Runs the imports `imports` one after another on each backend; their outputs (or errors) and the rows. */
  async function onBoth(
    imports: Record<string, unknown>[],
    options: { baseDir?: string; signal?: AbortSignal } = {},
  ): Promise<[Outcome, Outcome]> {
    const outcomes: Outcome[] = [];
    for (const backend of backends) {
      await backend.empty();
      const outputs: unknown[] = [];
      for (const params of imports) {
        const ctx = await backend.context({ baseDir: options.baseDir ?? dir, ...options });
        outputs.push(
          // An error's first line: DuckDB's own errors go on with the statement, which differs.
          await fileBars.run!(ctx, fileBars.params.parse(params)).catch((err: unknown) => ({
            error: (err as Error).message.split("\n")[0],
          })),
        );
      }
      expect(await backend.differences(), backend.name).toEqual([]);
      outcomes.push({ outputs, bars: await backend.rows(BARS), summary: await backend.rows(SUMMARY) });
    }
    return outcomes as [Outcome, Outcome];
  }

  it("imports CSV, CSV.gz, Parquet and Polygon flat files alike, replacing bars on a second import", async () => {
    write(
      "bars.csv",
      `${HEADER}
AAPL,2024-01-02,187.15,188.44,183.885,185.64,82488700,185.9,1009074,184.93
AAPL,2024-01-03,0.30000000000000004,1.2345678901234567,-0,5e-324,1.7976931348623157e308,NaN,12.5,inf
"O'NE,IL",2024-01-02,373.86,375.9,366.77,370.87,25258600,370.1,426213,
`,
    );
    // Again, later: one bar replaced, one added before, one after.
    write(
      "again.csv.gz",
      `${HEADER}
AAPL,2023-12-29,1,2,0.5,1.5,100,,,
AAPL,2024-01-03,2,3,1,2.5,200,2,20,2.5
AAPL,2024-01-04,3,4,2,3.5,300,3,30,3.5
`,
    );
    const parquet = join(dir, "data", "bars.parquet");
    const instance = await DuckDBInstance.create(":memory:");
    const duck = await instance.connect();
    await duck.run(`COPY (
      SELECT 'QQQ' AS symbol, DATE '2024-01-02' + i::INTEGER AS date, 400.0 + i / 3 AS open, 402.0 + i AS high,
        399.0 + i AS low, 401.0 + i AS close, (1000000 + i)::BIGINT AS volume, 400.5 + i AS vwap,
        (5000 + i)::BIGINT AS trades, 401.0 + i AS adj_close
      FROM range(5) r(i)) TO '${parquet.replaceAll("'", "''")}' (FORMAT parquet)`);
    duck.closeSync();
    instance.closeSync();
    const ns = (iso: string) => String(BigInt(Date.parse(iso)) * 1_000_000n);
    write(
      "2024-01-02.flat.csv.gz",
      `ticker,volume,open,close,high,low,window_start,transactions
AAPL,82488700,187.15,185.64,188.44,183.885,${ns("2024-01-02T05:00:00Z")},1009074
MSFT,1000,1,1,1,1,${ns("2024-03-16T03:30:00Z")},1
`,
    );
    const [onDuck, onPg] = await onBoth([
      { path: "data/bars.csv", source: "csv" },
      { path: "data/again.csv.gz", source: "csv" },
      { path: "data/bars.parquet", source: "pq" },
      { path: "data/*.flat.csv.gz", format: "polygon_flat_files", source: "flat" },
      { path: "data/*.flat.csv.gz", format: "polygon_flat_files", source: "flat" },
    ]);
    expect(onDuck.outputs).toEqual([
      { bars: 3, symbols: 2, files: 1 },
      { bars: 3, symbols: 1, files: 1 },
      { bars: 5, symbols: 1, files: 1 },
      { bars: 2, symbols: 2, files: 1 },
      { bars: 2, symbols: 2, files: 1 },
    ]);
    expect(onDuck.summary.find((r) => r.source === "csv" && r.symbol === "AAPL")).toEqual({
      source: "csv",
      symbol: "AAPL",
      first_date: "2023-12-29",
      last_date: "2024-01-04",
      bars: 4,
    });
    expect(onDuck.bars.find((r) => r.symbol === "MSFT")).toMatchObject({
      date: "2024-03-15",
      source: "flat",
    });
    expect(onDuck.bars).toHaveLength(4 + 1 + 5 + 2);
    expect(onPg).toEqual(onDuck);
  });

  it("keeps every double exact, -0, NaN and the extremes included", async () => {
    write(
      "hard.csv",
      `${HEADER}
HARD,2024-01-02,0.30000000000000004,1.2345678901234567,-0,5e-324,1.7976931348623157e308,NaN,12.5,inf
`,
    );
    const [onDuck, onPg] = await onBoth([{ path: "data/hard.csv", source: "hard" }]);
    expect(onDuck.bars).toEqual([
      {
        source: "hard",
        symbol: "HARD",
        date: "2024-01-02",
        open: 0.30000000000000004,
        high: 1.2345678901234567,
        low: -0,
        close: 5e-324,
        volume: 1.7976931348623157e308,
        vwap: Number.NaN,
        trades: "13",
        adj_close: Number.POSITIVE_INFINITY,
      },
    ]);
    expect(onPg).toEqual(onDuck);
  });

  it("refuses bad files with the same message, writing nothing", async () => {
    write("good.csv", `${HEADER}\nAAA,2024-01-02,1,2,0.5,1.5,100,1.2,10,1.5\n`);
    write("nan.csv", `${HEADER}\nAAA,2024-01-03,1,2,0.5,n/a,100,1.2,10,1.5\n`);
    write("dup1.csv", `${HEADER}\nBBB,2024-01-02,1,2,0.5,1.5,100,1.2,10,1.5\n`);
    write("dup2.csv", `${HEADER}\nBBB,2024-01-02,1,2,0.5,1.6,100,1.2,10,1.6\n`);
    const [onDuck, onPg] = await onBoth([
      { path: "data/good.csv", source: "s" },
      { path: "data/nan.csv", source: "s" },
      { path: "data/dup*.csv", source: "s" },
    ]);
    expect(onDuck.outputs.slice(1)).toEqual([
      { error: expect.stringMatching(/nan\.csv.*2024-01-03.*column close is not a number \("n\/a"\)/) },
      { error: expect.stringMatching(/dup1\.csv.*dup2\.csv.*2 rows for symbol "BBB", date 2024-01-02/) },
    ]);
    expect(onDuck.bars.map((r) => r.symbol)).toEqual(["AAA"]);
    expect(onPg).toEqual(onDuck);
  });

  it("writes nothing when a value at the last of 6,000 rows cannot be stored", async () => {
    const lines = Array.from({ length: 6000 }, (_, i) => {
      const day = new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
      return `BIG,${day},1,2,0.5,1.5,100,1.2,${i === 5999 ? "1e30" : "10"},1.5`;
    });
    write("big.csv", `${HEADER}\n${lines.join("\n")}\n`);
    const [onDuck, onPg] = await onBoth([{ path: "data/big.csv", source: "big" }]);
    expect(onDuck.outputs).toEqual([{ error: expect.stringMatching(/out of range/) }]);
    expect(onDuck.bars).toEqual([]);
    expect(onPg).toEqual(onDuck);
  });

  it("on PostgreSQL, a failure after every row was copied leaves neither bars nor bar_symbols", async () => {
    const postgres = backends[1]!;
    // The database refuses the last row, once all 20,000 are in PostgreSQL's staging table.
    await postgres.rows(`CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.symbol = 'BOOM' THEN RAISE EXCEPTION 'refused %', NEW.symbol; END IF; RETURN NEW; END $$`);
    await postgres.rows(
      "CREATE TRIGGER refuse_boom BEFORE INSERT ON bars_daily FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
    );
    try {
      const lines = Array.from({ length: 20_000 }, (_, i) => {
        const day = new Date(Date.UTC(2000, 0, 1) + (i % 5000) * 86_400_000).toISOString().slice(0, 10);
        return `${i === 19_999 ? "BOOM" : `S${Math.floor(i / 5000)}`},${day},1,2,0.5,1.5,100,1.2,10,1.5`;
      });
      write("boom.csv", `${HEADER}\n${lines.join("\n")}\n`);
      await postgres.empty();
      const ctx = await postgres.context({ baseDir: dir });
      await expect(
        fileBars.run!(ctx, fileBars.params.parse({ path: "data/boom.csv", source: "boom" })),
      ).rejects.toThrow("refused BOOM");
      expect(await postgres.rows("SELECT count(*)::int AS n FROM bars_daily")).toEqual([{ n: 0 }]);
      expect(await postgres.rows("SELECT count(*)::int AS n FROM bar_symbols")).toEqual([{ n: 0 }]);
    } finally {
      await postgres.rows("DROP TRIGGER refuse_boom ON bars_daily");
      await postgres.rows("DROP FUNCTION refuse_boom()");
    }
  });

  it("stops when the signal is aborted, writing nothing", async () => {
    write("bars.csv", `${HEADER}\nAAA,2024-01-02,1,2,0.5,1.5,100,1.2,10,1.5\n`);
    const controller = new AbortController();
    controller.abort(new Error("task timed out"));
    const [onDuck, onPg] = await onBoth([{ path: "data/bars.csv", source: "s" }], {
      signal: controller.signal,
    });
    expect(onDuck.outputs).toEqual([{ error: "task timed out" }]);
    expect(onPg).toEqual(onDuck);
  });

  it("imports the bundled synthetic demo sample (10,056 bars) identically", async () => {
    const pipelines = fileURLToPath(new URL("../../pipelines/", import.meta.url));
    const [onDuck, onPg] = await onBoth(
      [{ path: "data/demo-synthetic-bars.csv.gz", source: "demo-synthetic" }],
      { baseDir: pipelines },
    );
    expect(onDuck.outputs).toEqual([{ bars: 10_056, symbols: 4, files: 1 }]);
    expect(onDuck.bars).toHaveLength(10_056);
    expect(onPg).toEqual(onDuck);
  });
});
