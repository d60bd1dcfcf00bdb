import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { ensureIndicatorColumns, indicatorColumns } from "./indicators.js";
import { migrate } from "./migrate.js";
import { MIGRATIONS } from "./migrations.js";
import { openStore } from "./open.js";
import { tempDir } from "./testing.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A database file at schema version 1 (before the indicator layout), with `setup` run on it. */
async function versionOne(setup: string): Promise<string> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, "t.duckdb");
  const instance = await DuckDBInstance.create(path);
  const db = await instance.connect();
  await migrate(db, MIGRATIONS.slice(0, 1));
  if (setup) await db.run(setup);
  db.closeSync();
  instance.closeSync();
  return path;
}

describe("migration 2: indicators as a view over indicator_values", () => {
  it("replaces an empty indicators table", async () => {
    const store = await openStore(await versionOne(""));
    cleanups.push(() => store.close());
    expect(await indicatorColumns(store.db)).toEqual([]);
    const reader = await store.db.runAndReadAll("SELECT count(*)::INTEGER FROM indicators");
    expect(reader.getRows()).toEqual([[0]]);
  });

  it("refuses to drop rows someone wrote into the old table", async () => {
    const path = await versionOne(
      "INSERT INTO indicators VALUES ('s', 'AAPL', DATE '2024-01-02', 'sma_20', 1.5)",
    );
    await expect(openStore(path)).rejects.toThrow(/indicators table has rows written outside tickflow/);
  });
});

describe("ensureIndicatorColumns", () => {
  it("adds missing columns once, keeps their order, and keeps the view in step", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await openStore(join(dir, "t.duckdb"));
    cleanups.push(() => store.close());
    expect(await ensureIndicatorColumns(store.db, ["sma_20", "bbands_upper_20_2.5"])).toEqual([
      "sma_20",
      "bbands_upper_20_2.5",
    ]);
    expect(await ensureIndicatorColumns(store.db, ["ema_12", "sma_20", "ema_12"])).toEqual([
      "sma_20",
      "bbands_upper_20_2.5",
      "ema_12",
    ]);
    await store.db.run(
      `INSERT INTO indicator_series VALUES (1, 's', 'A');
       INSERT INTO indicator_values (series, date, "bbands_upper_20_2.5", ema_12) VALUES (1, DATE '2024-01-02', 2.5, NULL)`,
    );
    const reader = await store.db.runAndReadAll("SELECT * FROM indicators");
    expect(reader.getRowsJson()).toEqual([["s", "A", "2024-01-02", "bbands_upper_20_2.5", 2.5]]);
  });
});
