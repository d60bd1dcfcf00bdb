/**
 * The offline demo (`tickflow run pipelines/demo.yaml`, the README's first command) on PostgreSQL:
 * the real CLI with `TICKFLOW_DB=postgresql://...` completes every task and stores exactly what it
 * stores in a DuckDB file: the same bars, findings and indicator values, value for value. Then the
 * control-plane verbs read the run back from PostgreSQL.
 */
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migratePg, openPgPool, type PgStore, pgQuery } from "../src/store/pg/index.js";
import { tempDir, tickflow } from "./helpers/cli.js";
import { pgDescribe } from "./helpers/postgres.js";

/** Rows in one order, dates as text, doubles as JS numbers (compared exactly): what both must agree on. */
const BARS =
  "SELECT source, symbol, date::text AS date, open, high, low, close, volume FROM bars_daily ORDER BY source, symbol, date";
const INDICATORS =
  "SELECT source, symbol, date::text AS date, name, value FROM indicators ORDER BY source, symbol, date, name";
const SUMMARY =
  "SELECT source, symbol, first_date::text AS first_date, last_date::text AS last_date, bars::integer AS bars FROM bar_symbols ORDER BY source, symbol";

pgDescribe("the offline demo on PostgreSQL", (server) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: PgStore;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    store = await openPgPool(server.url(), { env: {} });
    await migratePg(store.pool);
  });
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });

  it("completes and stores what DuckDB stores, value for value", { timeout: 120_000 }, async () => {
    const onPg = await tickflow(["run", "pipelines/demo.yaml"], { env: { TICKFLOW_DB: server.url() } });
    expect(onPg.code, onPg.stderr).toBe(0);
    expect(onPg.stderr).toMatch(
      /demo: 10056 bars of 4 symbols \(2016-01-04 to 2025-12-31\), 0 quality errors, 99704 indicator values/,
    );
    expect(onPg.stdout + onPg.stderr).toMatch(/Completed: 5 completed/);

    const file = join(dir, "demo.duckdb");
    const onDuck = await tickflow(["run", "pipelines/demo.yaml"], { env: { TICKFLOW_DB: file } });
    expect(onDuck.code, onDuck.stderr).toBe(0);

    const duck = await (await DuckDBInstance.create(file)).connect();
    try {
      for (const sql of [BARS, INDICATORS, SUMMARY]) {
        const expected = (await duck.runAndReadAll(sql)).getRowObjectsJS();
        const got = (await pgQuery(store.pool, sql)).rows;
        expect(got.length).toBeGreaterThan(0);
        // Object.is per value: -0 and 0 differ, as do doubles one ulp apart.
        expect(got).toStrictEqual(expected);
      }
    } finally {
      duck.closeSync();
    }

    // The run is there for the control-plane verbs, read from PostgreSQL.
    const listed = await tickflow(["runs", "ls", "--json"], { env: { TICKFLOW_DB: server.url() } });
    expect(listed.code, listed.stderr).toBe(0);
    const runs = JSON.parse(listed.stdout) as { pipeline: string; state: string }[];
    expect(runs).toEqual([expect.objectContaining({ pipeline: "demo", state: "Completed" })]);
  });
});
