/**
 * The `sql` step on both backends, same assertions: on PostgreSQL the script runs there, in its
 * dialect (SQL below that both accept, or one text per backend where they differ).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeBackends } from "../../tests/helpers/step-backends.js";
import type { StepContext } from "../pipeline/step-spec.js";
import { sql } from "./sql.js";

describeBackends("sql step", (b) => {
  const run = (withParams: Record<string, unknown>, ctx: StepContext = b.ctx()) =>
    sql.run!(ctx, sql.params.parse(withParams));
  const pick = (duckdb: string, postgresql: string) => (b.backend === "duckdb" ? duckdb : postgresql);

  it("outputs the row count and the first row", async () => {
    expect(await run({ query: "SELECT 42 AS answer UNION ALL SELECT 43" })).toEqual({
      rows: 2,
      first: { answer: 42 },
    });
    expect(await run({ query: "SELECT 1 AS a WHERE false" })).toEqual({ rows: 0, first: {} });
    expect(await run({ query: "SELECT 1 AS a, 2 AS a" })).toEqual({ rows: 1, first: { a: 1, "a:1": 2 } });
  });

  it("converts the first row to the same plain JSON values", async () => {
    const out = await run({
      query: `SELECT
        CAST(42 AS BIGINT) AS big,
        CAST(1152921504606846976 AS BIGINT) AS huge,
        CAST(count(*) AS BIGINT) AS counted,
        DATE '2024-01-02' AS d,
        TIMESTAMP '2024-01-02 03:04:05.678' AS ts,
        TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tstz,
        CAST(12.34 AS DECIMAL(10, 2)) AS dec,
        'x' AS s,
        CAST(NULL AS INTEGER) AS typed_null,
        true AS b,
        CAST(1.5 AS DOUBLE PRECISION) AS dbl,
        CAST('NaN' AS DOUBLE PRECISION) AS nan,
        ${pick("[1, 2]::BIGINT[]", "ARRAY[1, 2]::BIGINT[]")} AS list,
        ${pick("[DATE '2024-01-02']", "ARRAY[DATE '2024-01-02']")} AS dates,
        CAST('{"a": [1, 2]}' AS JSON) AS j
      FROM (SELECT 1 AS one) t`,
    });
    expect(out).toEqual({
      rows: 1,
      first: {
        big: 42,
        huge: "1152921504606846976",
        counted: 1,
        d: "2024-01-02",
        ts: "2024-01-02T03:04:05.678Z",
        tstz: "2024-01-02T03:04:05.000Z",
        dec: 12.34,
        s: "x",
        typed_null: null,
        b: true,
        dbl: 1.5,
        nan: "NaN",
        list: [1, 2],
        dates: ["2024-01-02"],
        j: { a: [1, 2] },
      },
    });
  });

  it("gives the rows changed by DML, and those a RETURNING returns", async () => {
    await run({ query: "CREATE TABLE t (a INTEGER)" });
    expect(await run({ query: "INSERT INTO t SELECT * FROM generate_series(0, 2)" })).toEqual({
      rows: 3,
      first: {},
    });
    expect(await run({ query: "UPDATE t SET a = a + 1 WHERE a > 0" })).toEqual({ rows: 2, first: {} });
    expect(await run({ query: "INSERT INTO t VALUES (9) RETURNING a * 2 AS doubled" })).toEqual({
      rows: 1,
      first: { doubled: 18 },
    });
    expect(await run({ query: "DELETE FROM t WHERE a < 3" })).toEqual({ rows: 2, first: {} });
  });

  it("runs several statements in autocommit mode: a later failure keeps earlier work", async () => {
    const error = await run({
      query: "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1); INSERT INTO missing VALUES (2);",
    }).catch((err: unknown) => err);
    expect((error as Error).message).toMatch(/^statement 3 of 3: .*missing/);
    expect(await b.rows("SELECT a FROM t")).toEqual([[1]]);
  });

  it("supports a step that fails twice then succeeds", async () => {
    await b.exec("CREATE TABLE attempts (n INTEGER)");
    const query = `INSERT INTO attempts VALUES (1);
      SELECT CAST(CASE WHEN (SELECT count(*) FROM attempts) < 3 THEN 'not yet' ELSE '7' END AS INTEGER) AS status`;
    await expect(run({ query })).rejects.toThrow(/statement 2 of 2: .*not yet/);
    await expect(run({ query })).rejects.toThrow(/not yet/);
    expect(await run({ query })).toEqual({ rows: 1, first: { status: 7 } });
    expect(await b.rows("SELECT CAST(count(*) AS INTEGER) FROM attempts")).toEqual([[3]]);
  });

  it("binds named params, in each statement that uses them", async () => {
    const out = await run({
      query: `CREATE TABLE p AS SELECT CAST($symbol AS VARCHAR) AS symbol, $n AS n;
        SELECT symbol, n + $n AS twice, $x AS x, $flag AS flag, $nothing IS NULL AS is_null,
          $day::DATE AS day, $N * 2 AS upper FROM p`,
      params: { symbol: "AAPL", n: 21, x: 1.5, flag: true, nothing: null, day: "2024-01-02" },
    });
    expect(out).toEqual({
      rows: 1,
      first: { symbol: "AAPL", twice: 42, x: 1.5, flag: true, is_null: true, day: "2024-01-02", upper: 42 },
    });
    await b.exec("CREATE TABLE dated (d DATE)");
    await b.exec("INSERT INTO dated VALUES ('2024-01-01'), ('2024-01-03')");
    expect(
      await run({ query: "SELECT count(*) AS n FROM dated WHERE d > $from", params: { from: "2024-01-02" } }),
    ).toEqual({ rows: 1, first: { n: 1 } });
  });

  it("never pastes params into the SQL", async () => {
    const out = await run({ query: "SELECT $s AS s", params: { s: "'; DROP TABLE runs; --" } });
    expect(out.first).toEqual({ s: "'; DROP TABLE runs; --" });
    expect(await b.rows("SELECT CAST(count(*) AS INTEGER) FROM runs")).toEqual([[0]]);
  });

  it("leaves $ inside strings, dollar quotes and identifiers alone", async () => {
    const out = await run({
      query: "SELECT '$a' AS q, $$ $a $$ AS dq, $a AS a",
      params: { a: 5 },
    });
    expect(out.first).toEqual({ q: "$a", dq: " $a ", a: 5 });
  });

  it("names a placeholder without a value, refuses positional ones, warns about params no statement uses", async () => {
    await expect(run({ query: "SELECT $missing AS m", params: { other: 1 } })).rejects.toThrow(
      "$missing has no value: add it to params (given: other)",
    );
    await expect(run({ query: "SELECT $1 AS m", params: { other: 1 } })).rejects.toThrow(
      /positional parameters .* are not supported/,
    );
    const ctx = b.ctx();
    await run({ query: "SELECT $a AS a", params: { a: 1, unused: 2 } }, ctx);
    expect(ctx.logs).toEqual([{ level: "warn", message: "params not used by the query: unused" }]);
  });

  it("reads the query from a file relative to the pipeline's folder", async () => {
    writeFileSync(join(b.dir(), "answer.sql"), "-- a comment\nSELECT 6 * 7 AS answer;\n");
    expect(await run({ file: "answer.sql" })).toEqual({ rows: 1, first: { answer: 42 } });
  });

  it("reports the database's parser error", async () => {
    await expect(run({ query: "SELEC 1" })).rejects.toThrow(/syntax error at or near "SELEC"/);
  });

  it("rolls back a transaction the script left open by failing", async () => {
    await b.exec("CREATE TABLE t (a INTEGER)");
    await expect(
      run({ query: "BEGIN; INSERT INTO t VALUES (1); SELECT CAST('inside' AS INTEGER); COMMIT;" }),
    ).rejects.toThrow(/statement 3 of 4: .*inside/);
    expect(await b.rows("SELECT CAST(count(*) AS INTEGER) FROM t")).toEqual([[0]]);
    expect(await run({ query: "SELECT 1 AS ok" })).toEqual({ rows: 1, first: { ok: 1 } });
    await run({ query: "BEGIN; INSERT INTO t VALUES (1); COMMIT;" });
    expect(await b.rows("SELECT CAST(count(*) AS INTEGER) FROM t")).toEqual([[1]]);
  });

  it("interrupts a running query when the signal aborts", async () => {
    const controller = new AbortController();
    const ctx = b.ctx({ signal: controller.signal });
    const started = Date.now();
    setTimeout(() => controller.abort(new Error("cancelled")), 200);
    const forever = pick("SELECT count(*) FROM range(1000000000000)", "SELECT pg_sleep(60)");
    await expect(run({ query: `CREATE TABLE before_it (a INTEGER); ${forever}` }, ctx)).rejects.toThrow(
      "cancelled",
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    // The store is usable afterwards, and the earlier statement stays.
    expect(await b.rows("SELECT CAST(count(*) AS INTEGER) FROM before_it")).toEqual([[0]]);
    expect(await run({ query: "SELECT 1 AS ok" })).toEqual({ rows: 1, first: { ok: 1 } });
  });

  it("does not start when the signal has already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      run({ query: "CREATE TABLE never (a INTEGER)" }, b.ctx({ signal: controller.signal })),
    ).rejects.toThrow(/aborted/);
    expect(
      await b.rows(
        "SELECT CAST(count(*) AS INTEGER) FROM information_schema.tables WHERE table_name = 'never'",
      ),
    ).toEqual([[0]]);
  });

  it("keeps bar_symbols exact after a script that writes bars_daily", async () => {
    await run({
      query: `INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume)
        VALUES ('s', 'A', DATE '2024-01-02', 1, 1, 1, 1, 10), ('s', 'A', DATE '2024-01-03', 1, 1, 1, 1, 10),
               ('s', 'B', DATE '2024-01-04', 1, 1, 1, 1, 10)`,
    });
    const summary = () =>
      b.rows(
        "SELECT symbol, CAST(first_date AS VARCHAR), CAST(last_date AS VARCHAR), CAST(bars AS INTEGER) FROM bar_symbols ORDER BY symbol",
      );
    expect(await summary()).toEqual([
      ["A", "2024-01-02", "2024-01-03", 2],
      ["B", "2024-01-04", "2024-01-04", 1],
    ]);
    // Half-way failure: the first statement committed, the summary still follows the bars.
    await expect(
      run({
        query: "DELETE FROM bars_daily WHERE symbol = 'B'; SELECT CAST('x' AS INTEGER) FROM bars_daily",
      }),
    ).rejects.toThrow(/statement 2 of 2/);
    expect(await summary()).toEqual([["A", "2024-01-02", "2024-01-03", 2]]);
  });

  if (b.backend === "postgresql") {
    it("ends the script's session with it: a BEGIN without COMMIT is rolled back and fails", async () => {
      await b.exec("CREATE TABLE t (a INTEGER)");
      await expect(run({ query: "BEGIN; INSERT INTO t VALUES (1)" })).rejects.toThrow(
        "the script ends inside a transaction (BEGIN without COMMIT): rolled back",
      );
      expect(await b.rows("SELECT CAST(count(*) AS INTEGER) FROM t")).toEqual([[0]]);
      await run({ query: "CREATE TEMP TABLE mine (a INTEGER); SET statement_timeout = 1" });
      // The next script gets a clean session, whichever connection it has.
      for (let i = 0; i < 3; i++) {
        expect(
          await run({
            query: "SELECT to_regclass('mine') IS NULL AS gone, current_setting('statement_timeout') AS st",
          }),
        ).toEqual({ rows: 1, first: { gone: true, st: "0" } });
      }
    });
  }
});
