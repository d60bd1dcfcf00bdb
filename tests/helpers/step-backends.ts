/**
 * The same step tests on both backends: `describeBackends(name, (b) => { it(...) })` declares the
 * body twice, once over a fresh DuckDB file per test and once over PostgreSQL (a throwaway server
 * per file, its schema dropped and migrated again before each test; skipped, saying why, without
 * PostgreSQL). `b.ctx()` is a StepContext as the engine makes it on that backend (on PostgreSQL:
 * `pg` set, `db` a connection of the in-memory scratch DuckDB); `b.rows(sql)` reads the store in
 * its own dialect, rows as arrays of plain JSON values (write SQL that both dialects accept, or
 * branch on `b.backend`).
 */
import { DATE, DOUBLE, type DuckDBConnection, dateValue, TIMESTAMPTZ, VARCHAR } from "@duckdb/node-api";
import { afterAll, afterEach, beforeAll, beforeEach, describe } from "vitest";
import type { StepContext } from "../../src/pipeline/step-spec.js";
import { appendColumns } from "../../src/store/append.js";
import type { Store } from "../../src/store/open.js";
import { PG_JSON_TYPES } from "../../src/store/pg/json-values.js";
import { migratePg } from "../../src/store/pg/migrate.js";
import { openPgPool, type PgStore } from "../../src/store/pg/pool.js";
import { stepContext, tempDir, tempStore } from "../../src/store/testing.js";
import type { JsonValue } from "../../src/store/values.js";
import { pgDescribe } from "./postgres.js";

export type BackendName = "duckdb" | "postgresql";

export interface BackendUnderTest {
  readonly backend: BackendName;
  /** A fresh folder of the test (the pipeline's folder in `ctx()`). */
  dir(): string;
  /** A StepContext on this backend; its log lines collect in `logs`. */
  ctx(overrides?: Partial<Omit<StepContext, "log" | "db" | "pg">>): ReturnType<typeof stepContext>;
  /** Runs SQL in the store (this backend's dialect); rows as arrays of JSON values. */
  rows(sql: string, values?: unknown[]): Promise<JsonValue[][]>;
  /** Rows as objects of JSON values, by column name. */
  objects(sql: string): Promise<Record<string, JsonValue>[]>;
  /** Runs statements in the store (this backend's dialect). */
  exec(sql: string): Promise<void>;
  /** A DuckDB connection to read files with: the store's, or on PostgreSQL the scratch's. */
  duck(): DuckDBConnection;
  /** Bars into bars_daily (vwap, trades, adj_close, ingested_at null), in bulk. */
  insertBars(bars: readonly TestBar[]): Promise<void>;
}

/** A bar of a test: bars_daily's key and OHLCV. */
export interface TestBar {
  source: string;
  symbol: string;
  date: string;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
}

export function describeBackends(name: string, body: (b: BackendUnderTest) => void): void {
  describe(`${name} (DuckDB)`, () => {
    let store: Store;
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dir, cleanup } = await tempStore());
    });
    afterEach(() => cleanup());
    body({
      backend: "duckdb",
      dir: () => dir,
      ctx: (overrides = {}) => stepContext(store.db, { baseDir: dir, ...overrides }),
      async rows(sql, values) {
        const reader = await store.db.runAndReadAll(sql, values as never);
        return reader.getRowsJson() as JsonValue[][];
      },
      async objects(sql) {
        return (await store.db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, JsonValue>[];
      },
      async exec(sql) {
        await store.db.run(sql);
      },
      duck: () => store.db,
      async insertBars(bars) {
        const day = (iso: string) => dateValue(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);
        const price = (key: "open" | "high" | "low" | "close" | "volume") => ({
          type: DOUBLE,
          values: bars.map((bar) => bar[key]),
        });
        await appendColumns(store.db, "bars_daily", [
          { type: VARCHAR, values: bars.map((bar) => bar.source) },
          { type: VARCHAR, values: bars.map((bar) => bar.symbol) },
          { type: DATE, values: bars.map((bar) => day(bar.date)) },
          price("open"),
          price("high"),
          price("low"),
          price("close"),
          price("volume"),
          ...[0, 1, 2].map(() => ({ type: DOUBLE, values: bars.map(() => null) })),
          { type: TIMESTAMPTZ, values: bars.map(() => null) },
        ]);
      },
    });
  });

  pgDescribe(`${name} (PostgreSQL)`, (server) => {
    let store: PgStore;
    let scratch: Store;
    let folder: { dir: string; cleanup: () => void };
    beforeAll(async () => {
      store = await openPgPool(server.url(), { env: {} });
      scratch = await store.scratch();
    });
    afterAll(() => store?.close());
    beforeEach(async () => {
      folder = tempDir();
      await store.pool.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
      await migratePg(store.pool);
    });
    afterEach(() => folder.cleanup());
    body({
      backend: "postgresql",
      dir: () => folder.dir,
      ctx: (overrides = {}) => stepContext(scratch.db, { baseDir: folder.dir, pg: store.pool, ...overrides }),
      async rows(sql, values = []) {
        const res = await store.pool.query({ text: sql, values, rowMode: "array", types: PG_JSON_TYPES });
        return res.rows as JsonValue[][];
      },
      async objects(sql) {
        const res = await store.pool.query({ text: sql, types: PG_JSON_TYPES });
        return res.rows as Record<string, JsonValue>[];
      },
      async exec(sql) {
        await store.pool.query(sql);
      },
      duck: () => scratch.db,
      async insertBars(bars) {
        const column = (key: keyof TestBar) => bars.map((bar) => bar[key]);
        await store.pool.query(
          `INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume)
           SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::float8[], $5::float8[], $6::float8[],
             $7::float8[], $8::float8[])`,
          (["source", "symbol", "date", "open", "high", "low", "close", "volume"] as const).map(column),
        );
      },
    });
  });
}
