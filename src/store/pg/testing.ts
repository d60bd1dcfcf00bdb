/**
 * Helpers for tests of steps on PostgreSQL: a StepContext as the engine makes it when the store is
 * PostgreSQL (`pg` the pool, `db` a connection of the scratch DuckDB, `sinks` writing to
 * PostgreSQL); and both backends side by side, for tests that run the same assertions on each.
 * Real servers only: the pool is a `PgStore`'s.
 */
import type { LogLevel, StepContext } from "../../pipeline/step-spec.js";
import { type BarSymbolsDifference, barSymbolsDifferences } from "../bar-symbols.js";
import { stepContext, tempStore } from "../testing.js";
import { barSymbolsDifferencesPg } from "./bar-symbols.js";
import { stepSinksPg } from "./bars-writer.js";
import { migratePg } from "./migrate.js";
import { openPgPool, type PgStore } from "./pool.js";

/** A StepContext over `store` whose log lines are collected in `logs`. */
export async function pgStepContext(
  store: PgStore,
  overrides: Partial<Omit<StepContext, "log" | "db" | "pg">> = {},
): Promise<StepContext & { logs: { level: LogLevel; message: string }[] }> {
  const scratch = await store.scratch();
  const signal = overrides.signal ?? new AbortController().signal;
  return stepContext(await scratch.connect(), {
    pg: store.pool,
    sinks: stepSinksPg(store.pool, signal),
    ...overrides,
    signal,
  });
}

/** One backend as a step test sees it: contexts over it, and rows read with SQL both dialects accept. */
export interface TestBackend {
  name: "duckdb" | "postgresql";
  context(
    overrides?: Partial<Omit<StepContext, "log" | "db" | "pg">>,
  ): Promise<StepContext & { logs: { level: LogLevel; message: string }[] }>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** bar_symbols rows that disagree with bars_daily (none: exact). */
  differences(): Promise<BarSymbolsDifference[]>;
  /** Empties bars_daily, corporate_actions and bar_symbols. */
  empty(): Promise<void>;
  close(): Promise<void>;
}

/** A DuckDB file in a temporary folder, and the PostgreSQL database at `url` (migrated). */
export async function testBackends(url: string): Promise<[TestBackend, TestBackend]> {
  const { store: duck, cleanup } = await tempStore();
  const pg = await openPgPool(url, { env: {} });
  await migratePg(pg.pool);
  return [
    {
      name: "duckdb",
      context: async (overrides = {}) => stepContext(await duck.connect(), overrides),
      rows: async (sql) => (await duck.db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
      differences: () => barSymbolsDifferences(duck.db),
      empty: async () => {
        await duck.db.run("DELETE FROM bars_daily; DELETE FROM corporate_actions; DELETE FROM bar_symbols");
      },
      close: cleanup,
    },
    {
      name: "postgresql",
      context: (overrides = {}) => pgStepContext(pg, overrides),
      rows: async (sql) => (await pg.pool.query(sql)).rows,
      differences: () => barSymbolsDifferencesPg(pg.pool),
      empty: async () => {
        await pg.pool.query("TRUNCATE bars_daily, corporate_actions, bar_symbols");
      },
      close: () => pg.close(),
    },
  ];
}
