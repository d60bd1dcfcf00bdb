/**
 * cleanup.retention on both backends, same assertions: on PostgreSQL the rows go there (one
 * transaction per rule), the archives are written through the scratch DuckDB from the rows read
 * before deleting. The DuckDB-only behaviour (CHECKPOINT, failures half-way) is in
 * cleanup-retention.test.ts.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeBackends, type TestBar } from "../../tests/helpers/step-backends.js";
import type { JsonValue } from "../store/values.js";
import { cleanupRetention } from "./cleanup-retention.js";

const DAY = 86_400_000;

/** Weekly bars from 2012-01-03 for 12 years, of two symbols (one with a quote) and two sources. */
function weeklyBars(): TestBar[] {
  const bars: TestBar[] = [];
  for (const source of ["polygon", "yahoo"]) {
    for (const symbol of ["AAPL", "O'Reilly"]) {
      for (let i = 0; i < 626; i++) {
        const date = new Date(Date.UTC(2012, 0, 3) + 7 * i * DAY).toISOString().slice(0, 10);
        const volume = i % 5 === 0 ? null : 1e6 * (i + 1);
        bars.push({
          source,
          symbol,
          date,
          open: 100 + i,
          high: 101 + i,
          low: 99 + i,
          close: 100.5 + i,
          volume,
        });
      }
    }
  }
  // Exactly at and just before the 5y cutoff of run date 2024-01-02 (2019-01-02).
  const edge = { source: "polygon", symbol: "EDGE", open: null, high: null, low: null, volume: null };
  bars.push({ ...edge, date: "2019-01-02", close: 1 }, { ...edge, date: "2019-01-01", close: 2 });
  return bars;
}

/** Columns of bars compared between the store and the archive files, the same JSON on both. */
const BAR_COLUMNS = "source, symbol, CAST(date AS VARCHAR) AS date, open, high, low, close, volume";

/** Files under `folder`, relative, sorted. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(folder.length + 1))
    .sort();
}

function quote(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

describeBackends("cleanup.retention", (b) => {
  function run(withParams: Record<string, unknown>) {
    const ctx = b.ctx({ baseDir: b.dir(), runDate: "2024-01-02" });
    return { ctx, promise: cleanupRetention.run!(ctx, cleanupRetention.params.parse(withParams)) };
  }
  const count = async (sql: string) =>
    Number((await b.rows(`SELECT CAST(count(*) AS INTEGER) FROM (${sql}) t`))[0]?.[0]);

  /** Rows of the Parquet files under `folder` (hive `year` too), read by DuckDB. */
  async function archived(folder: string, columns: string, order: string): Promise<JsonValue[][]> {
    const files = quote(join(folder, "**", "*.parquet"));
    const reader = await b
      .duck()
      .runAndReadAll(
        `SELECT ${columns} FROM read_parquet(${files}, hive_partitioning = true) ORDER BY ${order}`,
      );
    return reader.getRowsJson() as JsonValue[][];
  }

  /** A run created `ageDays` ago in `state`, with two task runs, three transitions, four log lines, a notification. */
  async function insertRun(id: string, state: string, ageDays: number): Promise<void> {
    const at = `TIMESTAMPTZ '${new Date(Date.now() - ageDays * DAY).toISOString()}'`;
    await b.exec(`INSERT INTO runs (id, pipeline, state, parameters, logical_date, created_at, started_at)
      VALUES ('${id}', 'p', '${state}', '{"a": 1}', DATE '2020-01-01', ${at}, ${at})`);
    await b.exec(`INSERT INTO task_runs (run_id, task_id, step, state, attempts, started_at, outputs)
      VALUES ('${id}', 't0', 'sql', 'Completed', 1, ${at}, '{"rows": 3}'), ('${id}', 't1', 'sql', 'Completed', 1, ${at}, '{}')`);
    await b.exec(`INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt)
      VALUES ('${id}', NULL, ${at}, 0, 'Running', 1), ('${id}', 't0', ${at}, 1, 'Running', 1), ('${id}', 't1', ${at}, 2, 'Running', 1)`);
    await b.exec(`INSERT INTO run_logs (run_id, task_id, ts, seq, level, message)
      VALUES ${[0, 1, 2, 3].map((i) => `('${id}', 't0', ${at}, ${i}, 'info', 'line ${i}')`).join(", ")}`);
    await b.exec(`INSERT INTO notify_outbox (key, event, channel, run_id, facts, created_at, next_attempt_at, attempts, delivered_at)
      VALUES ('${id}:${state}:ops', '${state}', 'ops', '${id}', '{}', ${at}, ${at}, 1, ${at})`);
  }

  it("archives deleted bars to Parquet by year, every deleted row readable back; bar_symbols follows", async () => {
    await b.insertBars(weeklyBars());
    const due = `SELECT ${BAR_COLUMNS} FROM bars_daily WHERE date < DATE '2019-01-02'`;
    const expected = await b.rows(`${due} ORDER BY source, symbol, date`);
    const { ctx, promise } = run({
      rules: [{ table: "bars_daily", older_than: "5y", archive: "archive/bars" }],
    });
    const out = await promise;
    const folder = join(b.dir(), "archive", "bars");
    expect(expected.length).toBeGreaterThan(1000);
    expect(out).toMatchObject({
      deleted: expected.length,
      archived: expected.length,
      tables: { bars_daily: expected.length },
    });
    expect(await archived(folder, BAR_COLUMNS, "source, symbol, date")).toEqual(expected);
    expect(await count(due)).toBe(0);
    expect(await b.rows("SELECT CAST(date AS VARCHAR) FROM bars_daily WHERE symbol = 'EDGE'")).toEqual([
      ["2019-01-02"],
    ]);
    const files = filesUnder(folder);
    expect(files.map((f) => f.split("/")[0])).toEqual(
      ["2012", "2013", "2014", "2015", "2016", "2017", "2018", "2019"].map((y) => `year=${y}`),
    );
    for (const f of files) expect(f).toMatch(/^year=\d{4}\/run-test-r1-a1-[0-9a-f]{6}_0\.parquet$/);
    expect(out.files).toEqual(files.map((f) => join(folder, f)));
    // The summary's first dates moved with the bars.
    expect(
      await b.rows(
        "SELECT source, symbol, CAST(first_date AS VARCHAR), CAST(bars AS INTEGER) FROM bar_symbols ORDER BY source, symbol",
      ),
    ).toEqual(
      await b.rows(
        "SELECT source, symbol, CAST(min(date) AS VARCHAR), CAST(count(*) AS INTEGER) FROM bars_daily GROUP BY source, symbol ORDER BY source, symbol",
      ),
    );
    expect(ctx.logs[0]?.message).toMatch(
      new RegExp(`^bars_daily: deleted ${expected.length} bars_daily rows dated before 2019-01-02, archived`),
    );
  });

  it("limits a rule to one source; with dry_run counts and changes nothing", async () => {
    await b.insertBars(weeklyBars());
    const before = await count("SELECT * FROM bars_daily");
    const dueYahoo = await count(
      "SELECT * FROM bars_daily WHERE source = 'yahoo' AND date < DATE '2019-01-02'",
    );
    const dry = await run({
      rules: [{ table: "bars_daily", older_than: "5y", source: "yahoo", archive: "never" }],
      dry_run: true,
    }).promise;
    expect(dry).toEqual({ deleted: dueYahoo, archived: 0, tables: { bars_daily: dueYahoo }, files: [] });
    expect(await count("SELECT * FROM bars_daily")).toBe(before);
    expect(existsSync(join(b.dir(), "never"))).toBe(false);
    const out = await run({ rules: [{ table: "bars_daily", older_than: "5y", source: "yahoo" }] }).promise;
    expect(out).toEqual({ deleted: dueYahoo, archived: 0, tables: { bars_daily: dueYahoo }, files: [] });
    expect(await count("SELECT * FROM bars_daily")).toBe(before - dueYahoo);
    expect(
      await count("SELECT * FROM bars_daily WHERE source = 'polygon' AND date < DATE '2019-01-02'"),
    ).toBe(dueYahoo + 1);
  });

  it("deletes finished runs with their rows, archived per table; keeps unfinished and young ones", async () => {
    await insertRun("old-done", "Completed", 400);
    await insertRun("old-failed", "Failed", 400);
    await insertRun("old-running", "Running", 400);
    await insertRun("young", "Completed", 10);
    const out = await run({ rules: [{ table: "runs", older_than: "90d", archive: "archive/runs" }] }).promise;
    expect(out).toMatchObject({
      deleted: 2 + 4 + 6 + 8 + 2,
      archived: 22,
      tables: { runs: 2, task_runs: 4, state_transitions: 6, run_logs: 8, notify_outbox: 2 },
    });
    expect(await b.rows("SELECT id FROM runs ORDER BY id")).toEqual([["old-running"], ["young"]]);
    expect(await count("SELECT * FROM task_runs")).toBe(4);
    const folder = join(b.dir(), "archive", "runs");
    expect(await archived(join(folder, "runs"), "id, state, parameters", "id")).toEqual([
      ["old-done", "Completed", '{"a": 1}'],
      ["old-failed", "Failed", '{"a": 1}'],
    ]);
    expect(await archived(join(folder, "run_logs"), "run_id, message", "run_id, message")).toHaveLength(8);
  });

  it("ages quality results by date, or by created_at when they have no date", async () => {
    await b.exec(`INSERT INTO quality_results (run_id, source, symbol, date, check_name, severity, message, created_at) VALUES
      ('r', 's', 'A', DATE '2018-06-01', 'nulls', 'error', 'old', TIMESTAMPTZ '2023-12-01 00:00:00+00'),
      ('r', 's', 'A', DATE '2023-12-20', 'nulls', 'error', 'young', TIMESTAMPTZ '2023-12-01 00:00:00+00'),
      ('r', 's', NULL, NULL, 'cross_source', 'warn', 'old undated', TIMESTAMPTZ '2018-01-01 00:00:00+00'),
      ('r', 's', NULL, NULL, 'cross_source', 'warn', 'young undated', TIMESTAMPTZ '2023-12-31 00:00:00+00')`);
    const out = await run({ rules: [{ table: "quality_results", older_than: "1y", archive: "q" }] }).promise;
    expect(out).toMatchObject({ deleted: 2, archived: 2 });
    expect(await b.rows("SELECT message FROM quality_results ORDER BY message")).toEqual([
      ["young"],
      ["young undated"],
    ]);
    expect(await archived(join(b.dir(), "q"), "message, CAST(year AS INTEGER)", "message")).toEqual([
      ["old", 2018],
      ["old undated", 2017],
    ]);
  });
});
