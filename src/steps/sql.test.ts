import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StepContext } from "../pipeline/step-spec.js";
import type { Store } from "../store/open.js";
import { stepContext, tempStore } from "../store/testing.js";
import { sql } from "./sql.js";

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, dir, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

function run(
  withParams: Record<string, unknown>,
  ctx: StepContext = stepContext(store.db, { baseDir: dir }),
) {
  return sql.run!(ctx, sql.params.parse(withParams));
}

async function rows(query: string): Promise<unknown[][]> {
  return (await store.db.runAndReadAll(query)).getRowsJson();
}

describe("sql step", () => {
  it("outputs the row count and the first row", async () => {
    expect(await run({ query: "SELECT 42 AS answer UNION ALL SELECT 43" })).toEqual({
      rows: 2,
      first: { answer: 42 },
    });
    expect(await run({ query: "SELECT 1 AS a WHERE false" })).toEqual({ rows: 0, first: {} });
  });

  it("converts the first row to plain JSON values", async () => {
    const out = await run({
      query: `SELECT
        42::BIGINT AS big,
        (2::BIGINT ** 60)::BIGINT AS huge,
        170141183460469231731687303715884105727::HUGEINT AS hugeint,
        DATE '2024-01-02' AS d,
        TIMESTAMP '2024-01-02 03:04:05.678' AS ts,
        TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tstz,
        12.34::DECIMAL(10, 2) AS dec,
        'x' AS s,
        NULL AS n,
        NULL::INTEGER AS typed_null,
        true AS b,
        1.5::DOUBLE AS dbl,
        [1, 2]::BIGINT[] AS list,
        {'k': DATE '2024-01-02'} AS struct,
        '{"a": [1, 2]}'::JSON AS j,
        INTERVAL 3 DAY AS iv,
        'NaN'::DOUBLE AS nan`,
    });
    expect(out.rows).toBe(1);
    expect(out.first).toEqual({
      big: 42,
      huge: "1152921504606846976",
      hugeint: "170141183460469231731687303715884105727",
      d: "2024-01-02",
      ts: "2024-01-02T03:04:05.678Z",
      tstz: "2024-01-02T03:04:05.000Z",
      dec: 12.34,
      s: "x",
      n: null,
      typed_null: null,
      b: true,
      dbl: 1.5,
      list: [1, 2],
      struct: { k: "2024-01-02" },
      j: { a: [1, 2] },
      iv: expect.anything(),
      nan: "NaN",
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  it("gives the rows changed by DML", async () => {
    await run({ query: "CREATE TABLE t (a INTEGER)" });
    expect(await run({ query: "INSERT INTO t SELECT * FROM range(3)" })).toEqual({ rows: 3, first: {} });
    expect(await run({ query: "UPDATE t SET a = a + 1 WHERE a > 0" })).toEqual({ rows: 2, first: {} });
    expect(await run({ query: "INSERT INTO t VALUES (9) RETURNING a * 2 AS doubled" })).toEqual({
      rows: 1,
      first: { doubled: 18 },
    });
  });

  it("runs several statements in autocommit mode: a later failure keeps earlier work", async () => {
    const error = await run({
      query: "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1); INSERT INTO missing VALUES (2);",
    }).catch((err: unknown) => err);
    expect((error as Error).message).toMatch(/^statement 3 of 3: Catalog Error: Table with name missing/);
    expect(await rows("SELECT a FROM t")).toEqual([[1]]);
  });

  it("supports a step that fails twice then succeeds", async () => {
    await store.db.run("CREATE TABLE attempts (n INTEGER)");
    const query = `INSERT INTO attempts VALUES (1);
      SELECT CASE WHEN (SELECT count(*) FROM attempts) < 3 THEN error('not yet') ELSE 'done' END AS status`;
    await expect(run({ query })).rejects.toThrow(/statement 2 of 2: .*not yet/);
    await expect(run({ query })).rejects.toThrow(/not yet/);
    expect(await run({ query })).toEqual({ rows: 1, first: { status: "done" } });
    expect(await rows("SELECT count(*)::INTEGER FROM attempts")).toEqual([[3]]);
  });

  it("binds named params, in each statement that uses them", async () => {
    const out = await run({
      query: `CREATE TABLE p AS SELECT $symbol AS symbol, $n AS n;
        SELECT symbol, n + $n AS twice, $x AS x, $flag AS flag, $nothing IS NULL AS is_null,
          $day::DATE AS day FROM p`,
      params: { symbol: "AAPL", n: 21, x: 1.5, flag: true, nothing: null, day: "2024-01-02" },
    });
    expect(out).toEqual({
      rows: 1,
      first: { symbol: "AAPL", twice: 42, x: 1.5, flag: true, is_null: true, day: "2024-01-02" },
    });
  });

  it("never pastes params into the SQL", async () => {
    const out = await run({ query: "SELECT $s AS s", params: { s: "'; DROP TABLE runs; --" } });
    expect(out.first).toEqual({ s: "'; DROP TABLE runs; --" });
    expect(await rows("SELECT count(*)::INTEGER FROM runs")).toEqual([[0]]);
  });

  it("names a placeholder without a value, and warns about params no statement uses", async () => {
    await expect(run({ query: "SELECT $missing AS m", params: { other: 1 } })).rejects.toThrow(
      "$missing has no value: add it to params (given: other)",
    );
    const ctx = stepContext(store.db);
    await run({ query: "SELECT $a AS a", params: { a: 1, unused: 2 } }, ctx);
    expect(ctx.logs).toEqual([{ level: "warn", message: "params not used by the query: unused" }]);
  });

  it("reads the query from a file relative to the pipeline's folder", async () => {
    writeFileSync(join(dir, "answer.sql"), "-- a comment\nSELECT 6 * 7 AS answer;\n");
    expect(await run({ file: "answer.sql" })).toEqual({ rows: 1, first: { answer: 42 } });
    await expect(run({ file: "nope.sql" })).rejects.toThrow(`cannot read SQL file ${join(dir, "nope.sql")}`);
  });

  it("reports DuckDB's parser error", async () => {
    await expect(run({ query: "SELEC 1" })).rejects.toThrow(/Parser Error: syntax error at or near "SELEC"/);
  });

  it("rolls back a transaction the script left open by failing", async () => {
    await store.db.run("CREATE TABLE t (a INTEGER)");
    await expect(
      run({ query: "BEGIN; INSERT INTO t VALUES (1); SELECT error('inside'); COMMIT;" }),
    ).rejects.toThrow(/statement 3 of 4: .*inside/);
    expect(await rows("SELECT count(*)::INTEGER FROM t")).toEqual([[0]]);
    expect(await run({ query: "SELECT 1 AS ok" })).toEqual({ rows: 1, first: { ok: 1 } });
  });

  it("interrupts a running query when the signal aborts", async () => {
    const controller = new AbortController();
    const ctx = stepContext(store.db, { signal: controller.signal });
    const started = Date.now();
    setTimeout(() => controller.abort(new Error("cancelled")), 200);
    await expect(
      run({ query: "CREATE TABLE before_it (a INTEGER); SELECT count(*) FROM range(1000000000000)" }, ctx),
    ).rejects.toThrow("cancelled");
    expect(Date.now() - started).toBeLessThan(10_000);
    // The connection is usable afterwards, and the earlier statement stays.
    expect(await rows("SELECT count(*)::INTEGER FROM before_it")).toEqual([[0]]);
  });

  it("does not start when the signal has already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx = stepContext(store.db, { signal: controller.signal });
    await expect(run({ query: "CREATE TABLE never (a INTEGER)" }, ctx)).rejects.toThrow(/aborted/);
    expect(await rows("SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name = 'never'")).toEqual([
      [0],
    ]);
  });
});
