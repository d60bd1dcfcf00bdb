/**
 * The same step tests on both backends: `describeBackends(name, (b) => { it(...) })` declares the
 * body twice, once over a fresh DuckDB file per test and once over PostgreSQL (a throwaway server
 * per file, its schema dropped and migrated again before each test; skipped, saying why, without
 * PostgreSQL). `b.ctx()` is a StepContext as the engine makes it on that backend (on PostgreSQL:
 * `pg` set, `db` a connection of the in-memory scratch DuckDB); `b.rows(sql)` reads the store in
 * its own dialect, rows as arrays of plain JSON values (write SQL that both dialects accept, or
 * branch on `b.backend`).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe } from "vitest";
import type { StepContext } from "../../src/pipeline/step-spec.js";
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
  /** Runs statements in the store (this backend's dialect). */
  exec(sql: string): Promise<void>;
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
      async exec(sql) {
        await store.db.run(sql);
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
      async exec(sql) {
        await store.pool.query(sql);
      },
    });
  });
}
