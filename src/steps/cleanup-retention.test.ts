import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureIndicatorColumns } from "../store/indicators.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { cleanupRetention } from "./cleanup-retention.js";

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, dir, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

const DAY = 86_400_000;

function run(withParams: Record<string, unknown>, overrides: { runDate?: string; runId?: string } = {}) {
  const ctx = stepContext(store.db, { baseDir: dir, runDate: "2024-01-02", ...overrides });
  const promise = cleanupRetention.run!(ctx, cleanupRetention.params.parse(withParams));
  return { ctx, promise };
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await store.db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

async function count(sql: string): Promise<number> {
  const reader = await store.db.runAndReadAll(`SELECT count(*)::INTEGER FROM (${sql})`);
  return Number(reader.getRows()[0]?.[0]);
}

/** Rows of `a` missing from `b` plus rows of `b` missing from `a`: 0 when they hold the same rows. */
async function difference(a: string, b: string): Promise<number> {
  return count(`(${a} EXCEPT ALL ${b}) UNION ALL (${b} EXCEPT ALL ${a})`);
}

function quote(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

/** Every row of the Parquet files under `folder`, with the hive `year` column. */
function archived(folder: string): string {
  return `SELECT * FROM read_parquet(${quote(join(folder, "**", "*.parquet"))}, hive_partitioning = true)`;
}

/** Files under `folder`, relative, sorted. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(folder.length + 1))
    .sort();
}

/** Weekly bars from 2012-01-03 to 2023-12-26 for two symbols (one with a quote) and two sources. */
async function insertBars(): Promise<void> {
  await store.db.run(`
    INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume, vwap, trades, adj_close, ingested_at)
    SELECT src, s.symbol, DATE '2012-01-03' + (7 * i)::INTEGER, 100 + i, 101 + i, 99 + i, 100.5 + i,
      CASE WHEN i % 5 = 0 THEN NULL ELSE 1e6 * (i + 1) END, 100.25 + i, 1000 + i,
      CASE WHEN i % 3 = 0 THEN 99.5 + i END, TIMESTAMPTZ '2024-01-01 12:34:56.789+00'
    FROM range(626) r(i), (VALUES ('AAPL'), ('O''Reilly')) s(symbol), (VALUES ('polygon'), ('yahoo')) v(src)`);
  // Exactly at and just before the 5y cutoff of run date 2024-01-02 (2019-01-02).
  await store.db.run(`
    INSERT INTO bars_daily (source, symbol, date, close) VALUES
      ('polygon', 'EDGE', DATE '2019-01-02', 1), ('polygon', 'EDGE', DATE '2019-01-01', 2)`);
}

/** A run created `ageDays` ago in `state`, with two task runs, transitions and logs. */
async function insertRun(id: string, state: string, ageDays: number): Promise<void> {
  const created = new Date(Date.now() - ageDays * DAY).toISOString();
  await store.db.run(`
    INSERT INTO runs (id, pipeline, state, parameters, logical_date, created_at, started_at)
    VALUES ('${id}', 'p', '${state}', '{"a": 1}', DATE '2020-01-01', TIMESTAMPTZ '${created}', TIMESTAMPTZ '${created}');
    INSERT INTO task_runs (run_id, task_id, step, state, attempts, started_at, outputs)
    SELECT '${id}', 't' || i, 'sql', 'Completed', 1, TIMESTAMPTZ '${created}', '{"rows": 3}' FROM range(2) r(i);
    INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt)
    SELECT '${id}', CASE WHEN i > 0 THEN 't' || i END, TIMESTAMPTZ '${created}', i, 'Running', 1 FROM range(3) r(i);
    INSERT INTO run_logs (run_id, task_id, ts, seq, level, message)
    SELECT '${id}', 't0', TIMESTAMPTZ '${created}' + INTERVAL (i) MINUTE, i, 'info', 'line ' || i FROM range(4) r(i);
    INSERT INTO notify_outbox (key, event, channel, run_id, facts, created_at, next_attempt_at, attempts, delivered_at)
    VALUES ('${id}:${state}:ops', '${state}', 'ops', '${id}', '{}', TIMESTAMPTZ '${created}', TIMESTAMPTZ '${created}', 1, TIMESTAMPTZ '${created}');`);
}

async function runIds(): Promise<string[]> {
  return (await rows("SELECT id FROM runs ORDER BY id")).map((r) => r.id as string);
}

describe("cleanup.retention", () => {
  it("archives deleted bars to Parquet by year, every deleted row readable back", async () => {
    await insertBars();
    await store.db.run("CREATE TABLE bars_before AS SELECT * FROM bars_daily");
    const { ctx, promise } = run({
      rules: [{ table: "bars_daily", older_than: "5y", archive: "archive/bars" }],
    });
    const out = await promise;
    const folder = join(dir, "archive", "bars");

    const gone = "SELECT * FROM bars_before EXCEPT ALL SELECT * FROM bars_daily";
    const deleted = await count(gone);
    expect(deleted).toBeGreaterThan(1000);
    expect(out).toMatchObject({ deleted, archived: deleted, tables: { bars_daily: deleted } });
    // Row for row, every column: what was there before minus what remains = what is in the files.
    expect(await difference(gone, `SELECT * EXCLUDE (year) FROM (${archived(folder)})`)).toBe(0);
    // Nothing young went, nothing old stayed; the row exactly at the cutoff stays.
    expect(await count("SELECT * FROM bars_daily WHERE date < DATE '2019-01-02'")).toBe(0);
    expect(await count(`SELECT * FROM (${gone}) WHERE date >= DATE '2019-01-02'`)).toBe(0);
    expect(await rows("SELECT date::VARCHAR AS d FROM bars_daily WHERE symbol = 'EDGE'")).toEqual([
      { d: "2019-01-02" },
    ]);
    // Hive layout: year=YYYY/<run id>-...parquet, each file holding its year only.
    const files = filesUnder(folder);
    expect(files.map((f) => f.split("/")[0])).toEqual(
      ["2012", "2013", "2014", "2015", "2016", "2017", "2018", "2019"].map((y) => `year=${y}`),
    );
    for (const f of files) expect(f).toMatch(/^year=\d{4}\/run-test-r1-a1-[0-9a-f]{6}_0\.parquet$/);
    expect(out.files).toEqual(files.map((f) => join(folder, f)));
    expect(await count(`${archived(folder)} WHERE year <> year(date)`)).toBe(0);
    // No staging folder left beside the archive.
    expect(readdirSync(join(dir, "archive"))).toEqual(["bars"]);
    expect(ctx.logs).toHaveLength(1);
    expect(ctx.logs[0]?.message).toMatch(
      new RegExp(
        `^bars_daily: deleted ${deleted} bars_daily rows dated before 2019-01-02, archived ${deleted} rows to`,
      ),
    );
  });

  it("limits a rule to one source", async () => {
    await insertBars();
    const out = await run({ rules: [{ table: "bars_daily", older_than: "5y", source: "yahoo" }] }).promise;
    expect(out.deleted).toBeGreaterThan(0);
    expect(await count("SELECT * FROM bars_daily WHERE date < DATE '2019-01-02' AND source = 'yahoo'")).toBe(
      0,
    );
    expect(
      await count("SELECT * FROM bars_daily WHERE date < DATE '2019-01-02' AND source = 'polygon'"),
    ).toBe(
      (out.deleted as number) + 1, // EDGE 2019-01-01 is polygon's only extra row
    );
  });

  it("prunes corporate actions by date", async () => {
    await store.db.run(`
      INSERT INTO corporate_actions (source, symbol, date, kind, value) VALUES
        ('yahoo', 'AAPL', DATE '2014-06-09', 'split', 7), ('yahoo', 'AAPL', DATE '2020-08-31', 'split', 4),
        ('yahoo', 'AAPL', DATE '2021-12-31', 'dividend', 0.22), ('yahoo', 'AAPL', DATE '2022-01-02', 'dividend', 0.23)`);
    const out = await run({
      rules: [{ table: "corporate_actions", older_than: "2y", archive: "archive/actions" }],
    }).promise;
    expect(out).toMatchObject({ deleted: 3, archived: 3, tables: { corporate_actions: 3 } });
    expect(await rows("SELECT date::VARCHAR AS d FROM corporate_actions")).toEqual([{ d: "2022-01-02" }]);
    expect(
      await rows(
        `SELECT year::INTEGER AS y, count(*)::INTEGER AS n FROM (${archived(join(dir, "archive", "actions"))}) GROUP BY y ORDER BY y`,
      ),
    ).toEqual([
      { y: 2014, n: 1 },
      { y: 2020, n: 1 },
      { y: 2021, n: 1 },
    ]);
  });

  it("with dry_run, counts per rule and changes nothing", async () => {
    await insertBars();
    await insertRun("old-done", "Completed", 100);
    const before = await rows(
      "SELECT (SELECT count(*) FROM bars_daily) b, (SELECT count(*) FROM runs) r, (SELECT count(*) FROM run_logs) l",
    );
    const { ctx, promise } = run({
      dry_run: true,
      rules: [
        { table: "bars_daily", older_than: "5y", archive: "archive/bars" },
        { table: "runs", older_than: "90d", archive: "archive/runs" },
      ],
    });
    const out = await promise;
    const dueBars = await count("SELECT * FROM bars_daily WHERE date < DATE '2019-01-02'");
    expect(out).toEqual({
      deleted: dueBars + 1 + 2 + 3 + 4 + 1,
      archived: 0,
      tables: {
        bars_daily: dueBars,
        task_runs: 2,
        state_transitions: 3,
        run_logs: 4,
        notify_outbox: 1,
        runs: 1,
      },
      files: [],
    });
    expect(
      await rows(
        "SELECT (SELECT count(*) FROM bars_daily) b, (SELECT count(*) FROM runs) r, (SELECT count(*) FROM run_logs) l",
      ),
    ).toEqual(before);
    expect(existsSync(join(dir, "archive"))).toBe(false);
    expect(ctx.logs.map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^bars_daily: would delete \d+ bars_daily rows dated before 2019-01-02 \(dry run, would archive to /,
      ),
      expect.stringMatching(
        /^runs: would delete 2 task_runs, 3 state_transitions, 4 run_logs, 1 notify_outbox, 1 runs rows before /,
      ),
    ]);
  });

  it("counts N sessions back from the run date on the NYSE calendar", async () => {
    // Every calendar day of December 2023 and the first days of 2024.
    await store.db.run(`
      INSERT INTO bars_daily (source, symbol, date, close)
      SELECT 'x', 'AAPL', DATE '2023-12-01' + i::INTEGER, i FROM range(40) r(i)`);
    // Run date 2024-01-02 (a session): 3 sessions = 2023-12-28, 2023-12-29, 2024-01-02
    // (2023-12-30/31 weekend, 2024-01-01 holiday); younger rows stay too.
    const out = await run({ rules: [{ table: "bars_daily", older_than: "3 sessions" }] }).promise;
    expect(out.deleted).toBe(27);
    expect((await rows("SELECT min(date)::VARCHAR AS d FROM bars_daily"))[0]?.d).toBe("2023-12-28");
    // Run date on a weekend: counted from the session before it.
    const weekend = await run(
      { rules: [{ table: "bars_daily", older_than: "1 session" }] },
      { runDate: "2024-01-07" },
    ).promise;
    expect(weekend.deleted).toBe(8); // 2023-12-28 .. 2024-01-04
    expect((await rows("SELECT min(date)::VARCHAR AS d FROM bars_daily"))[0]?.d).toBe("2024-01-05");
  });

  it("deletes finished runs with their task runs, transitions and logs; keeps unfinished and young ones", async () => {
    for (const state of ["Completed", "Failed", "Crashed", "Cancelled"])
      await insertRun(`old-${state}`, state, 100);
    for (const state of ["Running", "Pending", "Scheduled", "Late", "Cancelling"])
      await insertRun(`old-${state}`, state, 100);
    await insertRun("young-Completed", "Completed", 10);
    const doomed = ["old-Cancelled", "old-Completed", "old-Crashed", "old-Failed"];
    const inList = doomed.map((id) => `'${id}'`).join(", ");
    const snapshot = async () => ({
      runs: await count(`SELECT * FROM runs WHERE id IN (${inList})`),
      tasks: await count(`SELECT * FROM task_runs WHERE run_id IN (${inList})`),
      transitions: await count(`SELECT * FROM state_transitions WHERE run_id IN (${inList})`),
      logs: await count(`SELECT * FROM run_logs WHERE run_id IN (${inList})`),
      messages: await count(`SELECT * FROM notify_outbox WHERE run_id IN (${inList})`),
    });
    expect(await snapshot()).toEqual({ runs: 4, tasks: 8, transitions: 12, logs: 16, messages: 4 });
    await store.db.run(`CREATE TABLE runs_before AS SELECT * FROM runs WHERE id IN (${inList});
      CREATE TABLE logs_before AS SELECT * FROM run_logs WHERE run_id IN (${inList})`);

    const out = await run({ rules: [{ table: "runs", older_than: "90d", archive: "archive/history" }] })
      .promise;
    expect(out).toMatchObject({
      deleted: 4 + 8 + 12 + 16 + 4,
      archived: 4 + 8 + 12 + 16 + 4,
      tables: { runs: 4, task_runs: 8, state_transitions: 12, run_logs: 16, notify_outbox: 4 },
    });
    expect(await snapshot()).toEqual({ runs: 0, tasks: 0, transitions: 0, logs: 0, messages: 0 });
    expect(await count("SELECT * FROM notify_outbox")).toBe(6);
    expect(await runIds()).toEqual([
      "old-Cancelling",
      "old-Late",
      "old-Pending",
      "old-Running",
      "old-Scheduled",
      "young-Completed",
    ]);
    expect(await count("SELECT * FROM task_runs")).toBe(12);
    expect(await count("SELECT * FROM run_logs")).toBe(24);
    // One subfolder per table, partitioned by the year the run was created.
    const folder = join(dir, "archive", "history");
    expect(readdirSync(folder).sort()).toEqual([
      "notify_outbox",
      "run_logs",
      "runs",
      "state_transitions",
      "task_runs",
    ]);
    expect(
      await difference(
        "SELECT * FROM runs_before",
        `SELECT * EXCLUDE (year) FROM (${archived(join(folder, "runs"))})`,
      ),
    ).toBe(0);
    expect(
      await difference(
        "SELECT * FROM logs_before",
        `SELECT * EXCLUDE (year) FROM (${archived(join(folder, "run_logs"))})`,
      ),
    ).toBe(0);
  });

  it("prunes run logs alone by timestamp, keeping the logs of unfinished runs", async () => {
    await insertRun("old-Completed", "Completed", 40);
    await insertRun("old-Running", "Running", 40);
    await insertRun("young-Completed", "Completed", 5);
    // A log line whose run is gone.
    await store.db.run(
      `INSERT INTO run_logs (run_id, ts, level, message) VALUES ('gone', TIMESTAMPTZ '${new Date(Date.now() - 50 * DAY).toISOString()}', 'info', 'orphan')`,
    );
    const out = await run({ rules: [{ table: "run_logs", older_than: "30d" }] }).promise;
    expect(out).toMatchObject({ deleted: 5, tables: { run_logs: 5 } });
    expect(
      await rows("SELECT run_id, count(*)::INTEGER AS n FROM run_logs GROUP BY ALL ORDER BY run_id"),
    ).toEqual([
      { run_id: "old-Running", n: 4 },
      { run_id: "young-Completed", n: 4 },
    ]);
    expect(await runIds()).toEqual(["old-Completed", "old-Running", "young-Completed"]);
    expect(await count("SELECT * FROM task_runs")).toBe(6);
  });

  it("ages quality results by date, or by created_at when they have no date", async () => {
    await store.db.run(`
      INSERT INTO quality_results (run_id, source, symbol, date, check_name, severity, created_at) VALUES
        ('r', 'x', 'A', DATE '2023-01-01', 'nulls', 'warn', TIMESTAMPTZ '2024-01-01 00:00:00+00'),
        ('r', 'x', 'A', DATE '2023-12-30', 'nulls', 'warn', TIMESTAMPTZ '2022-01-01 00:00:00+00'),
        ('r', 'x', NULL, NULL, 'cross_source', 'error', TIMESTAMPTZ '2023-06-01 00:00:00+00'),
        ('r', 'x', NULL, NULL, 'cross_source', 'error', TIMESTAMPTZ '2023-12-30 00:00:00+00'),
        ('r', 'x', NULL, NULL, 'cross_source', 'error', NULL)`);
    const out = await run({
      rules: [{ table: "quality_results", older_than: "30d", archive: "archive/quality" }],
    }).promise;
    expect(out).toMatchObject({ deleted: 2, archived: 2 });
    expect(
      await rows(
        "SELECT date::VARCHAR AS d, created_at IS NULL AS no_time FROM quality_results ORDER BY ALL",
      ),
    ).toEqual([
      { d: "2023-12-30", no_time: false },
      { d: null, no_time: false },
      { d: null, no_time: true },
    ]);
    expect(filesUnder(join(dir, "archive", "quality")).map((f) => f.split("/")[0])).toEqual(["year=2023"]);
  });

  it("a second run adds new archive files and leaves the first run's alone", async () => {
    await insertBars();
    await store.db.run("CREATE TABLE bars_before AS SELECT * FROM bars_daily");
    const folder = join(dir, "archive", "bars");
    const first = await run(
      { rules: [{ table: "bars_daily", older_than: "8y", archive: "archive/bars" }] },
      { runId: "run-one" },
    ).promise;
    const firstFiles = first.files as string[];
    const contents = new Map(firstFiles.map((f) => [f, readFileSync(f)]));
    const times = new Map(firstFiles.map((f) => [f, statSync(f).mtimeMs]));
    // Same run id and attempt again (a rerun): still new names.
    const second = await run(
      { rules: [{ table: "bars_daily", older_than: "5y", archive: "archive/bars" }] },
      { runId: "run-one" },
    ).promise;
    expect(first.deleted).toBeGreaterThan(0);
    expect(second.deleted).toBeGreaterThan(0);
    for (const f of firstFiles) {
      expect(readFileSync(f).equals(contents.get(f) as Buffer)).toBe(true);
      expect(statSync(f).mtimeMs).toBe(times.get(f));
    }
    const all = filesUnder(folder).map((f) => join(folder, f));
    expect(all.sort()).toEqual([...firstFiles, ...(second.files as string[])].sort());
    expect(new Set(all).size).toBe(firstFiles.length + (second.files as string[]).length);
    // Both runs' rows, each once.
    expect(
      await difference(
        "SELECT * FROM bars_before EXCEPT ALL SELECT * FROM bars_daily",
        `SELECT * EXCLUDE (year) FROM (${archived(folder)})`,
      ),
    ).toBe(0);
  });

  it("fails without deleting anything when the archive folder cannot be written", async () => {
    await insertBars();
    await insertRun("old", "Completed", 100);
    writeFileSync(join(dir, "archive"), "a file where the folder should be\n");
    const total = await count("SELECT * FROM bars_daily");
    const { promise } = run({
      rules: [
        { table: "run_logs", older_than: "30d" },
        { table: "bars_daily", older_than: "5y", archive: "archive/bars" },
      ],
    });
    await expect(promise).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(await count("SELECT * FROM bars_daily")).toBe(total);
    // Rules before the failing one did run (each rule is its own transaction).
    expect(await count("SELECT * FROM run_logs")).toBe(0);
    // The connection is usable (no transaction left open).
    expect(await count("SELECT * FROM runs")).toBe(1);
    await store.db.run("BEGIN TRANSACTION");
    await store.db.run("ROLLBACK");
  });

  it("rolls back, removing the files already moved, when moving the archive into place fails", async () => {
    await insertBars();
    const total = await count("SELECT * FROM bars_daily");
    // A file takes the place of a year folder that the second run needs.
    const folder = join(dir, "archive", "bars");
    await run({
      rules: [{ table: "bars_daily", older_than: "1y", archive: "archive/bars", source: "yahoo" }],
    }).promise;
    const kept = filesUnder(folder);
    const afterFirst = await count("SELECT * FROM bars_daily");
    expect(afterFirst).toBeLessThan(total);
    const { rmSync } = await import("node:fs");
    rmSync(join(folder, "year=2016"), { recursive: true });
    writeFileSync(join(folder, "year=2016"), "in the way\n");
    await expect(
      run({ rules: [{ table: "bars_daily", older_than: "1y", archive: "archive/bars" }] }).promise,
    ).rejects.toThrow(/year=2016/);
    expect(await count("SELECT * FROM bars_daily")).toBe(afterFirst);
    // Only the first run's files (minus the removed year) and the blocking file are there.
    expect(filesUnder(folder)).toEqual(
      [...kept.filter((f) => !f.startsWith("year=2016/")), "year=2016"].sort(),
    );
    expect(readdirSync(join(dir, "archive"))).toEqual(["bars"]);
  });

  describe("indicators", () => {
    /** Values in the layout of migration 2: series x, two output columns, the long view over them. */
    async function insertIndicators(): Promise<void> {
      await ensureIndicatorColumns(store.db, ["sma_5", "rsi_14"]);
      await store.db.run(`
        INSERT INTO indicator_series VALUES (1, 'x', 'AAPL'), (2, 'x', 'MSFT'), (3, 'y', 'AAPL');
        INSERT INTO indicator_values (series, date, sma_5, rsi_14)
        SELECT s, DATE '2015-01-01' + (30 * i)::INTEGER, i * 1.5, CASE WHEN i % 4 <> 0 THEN i / 2 END
        FROM range(120) r(i), (VALUES (1), (2), (3)) v(s);
        CREATE TABLE ind_before AS SELECT * FROM indicators;
        CREATE TABLE wide_before AS SELECT * FROM indicator_values;`);
    }

    it("archives the long rows and deletes them from indicator_values", async () => {
      await insertIndicators();
      const out = await run({
        rules: [{ table: "indicators", older_than: "2y", archive: "archive/ind" }],
      }).promise;
      const gone = "SELECT * FROM ind_before EXCEPT ALL SELECT * FROM indicators";
      // Counted in the long form (one row per value), as the view shows them.
      expect(out.deleted).toBe(await count(gone));
      expect(out.deleted).toBeGreaterThan(300);
      expect(await count("SELECT * FROM indicator_values WHERE date < DATE '2022-01-02'")).toBe(0);
      expect(
        await difference(gone, `SELECT * EXCLUDE (year) FROM (${archived(join(dir, "archive", "ind"))})`),
      ).toBe(0);
    });

    it("with a source, deletes only that source's series", async () => {
      await insertIndicators();
      const out = await run({
        rules: [{ table: "indicators", older_than: "2y", archive: "archive/ind", source: "x" }],
      }).promise;
      const gone = "SELECT * FROM ind_before EXCEPT ALL SELECT * FROM indicators";
      const deleted = await count(gone);
      expect(deleted).toBeGreaterThan(200);
      expect(out).toMatchObject({ deleted, archived: deleted, tables: { indicators: deleted } });
      expect(await count("SELECT * FROM indicators WHERE date < DATE '2022-01-02' AND source = 'x'")).toBe(0);
      expect(
        await count("SELECT * FROM indicators WHERE date < DATE '2022-01-02' AND source = 'y'"),
      ).toBeGreaterThan(100);
      expect(
        await count(
          "SELECT * FROM wide_before WHERE date >= DATE '2022-01-02' OR series = 3 EXCEPT ALL SELECT * FROM indicator_values",
        ),
      ).toBe(0);
    });
  });

  it("frees the deleted rows' space with a CHECKPOINT", async () => {
    await insertBars();
    const { ctx, promise } = run({ rules: [{ table: "bars_daily", older_than: "1w" }] });
    const out = await promise;
    expect(out.deleted).toBeGreaterThan(0);
    expect(ctx.logs.filter((l) => l.level === "warn")).toEqual([]);
    // After a CHECKPOINT the write-ahead log is empty.
    const wal = `${join(dir, "test.duckdb")}.wal`;
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
  });
});

describe("cleanup.retention through the CLI", () => {
  it("runs pipelines/cleanup.yaml: archives old bars beside the pipeline, prunes history, keeps its own run", async () => {
    const { copyExamples, tickflow } = await import("../../tests/helpers/cli.js");
    const { openStore } = await import("../store/open.js");
    const examples = await copyExamples();
    try {
      const db = join(examples.dir, "cli.duckdb");
      const seeded = await openStore(db);
      try {
        await seeded.db.run(`
          INSERT INTO bars_daily (source, symbol, date, close)
          SELECT 'x', 'AAPL', DATE '2010-01-04' + (7 * i)::INTEGER, i FROM range(700) r(i);
          INSERT INTO runs (id, pipeline, state, created_at)
          VALUES ('ancient', 'p', 'Completed', TIMESTAMPTZ '2020-01-01 00:00:00+00');
          INSERT INTO run_logs (run_id, ts, level, message)
          VALUES ('ancient', TIMESTAMPTZ '2020-01-01 00:00:00+00', 'info', 'old');`);
      } finally {
        await seeded.close();
      }
      const file = join(examples.dir, "pipelines", "cleanup.yaml");
      const r = await tickflow(["run", file, "--db", db, "--date", "2024-01-02", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const record = JSON.parse(r.stdout) as { id: string; state: string };
      expect(record.state).toBe("Completed");

      const after = await openStore(db);
      try {
        const one = async (sql: string) => (await after.db.runAndReadAll(sql)).getRowObjectsJson()[0];
        expect(await one("SELECT min(date)::VARCHAR AS d, count(*)::INTEGER AS n FROM bars_daily")).toEqual({
          d: "2014-01-06",
          n: 700 - 209,
        });
        const folder = join(examples.dir, "pipelines", "archive", "bars_daily");
        expect(
          await one(
            `SELECT count(*)::INTEGER AS n, min(date)::VARCHAR AS lo, max(date)::VARCHAR AS hi FROM read_parquet(${quote(join(folder, "**", "*.parquet"))}, hive_partitioning = true)`,
          ),
        ).toEqual({ n: 209, lo: "2010-01-04", hi: "2013-12-30" });
        // The old run went with its log; the cleanup run itself (Running while it ran) stayed.
        expect(await one("SELECT string_agg(id, ',') AS ids FROM runs")).toEqual({ ids: record.id });
        expect(await one("SELECT count(*)::INTEGER AS n FROM run_logs WHERE run_id = 'ancient'")).toEqual({
          n: 0,
        });
        // One line per rule, and the CHECKPOINT ran (no warning).
        expect(
          await one(
            `SELECT count(*) FILTER (level = 'info' AND message LIKE '%: deleted %')::INTEGER AS rules, count(*) FILTER (level = 'warn')::INTEGER AS warnings FROM run_logs WHERE run_id = '${record.id}' AND task_id = 'retention'`,
          ),
        ).toEqual({ rules: 5, warnings: 0 });
        const outputs = await one(
          `SELECT outputs::VARCHAR AS o FROM task_runs WHERE run_id = '${record.id}' AND task_id = 'retention'`,
        );
        expect(JSON.parse(String(outputs?.o))).toMatchObject({
          deleted: 209 + 1 + 1,
          archived: 209,
          tables: { bars_daily: 209, runs: 1, run_logs: 1 },
        });
      } finally {
        await after.close();
      }
    } finally {
      await examples.cleanup();
    }
  });
});
