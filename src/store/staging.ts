import type { DuckDBConnection } from "@duckdb/node-api";
import { type AppendColumn, appendColumns } from "./append.js";

let counter = 0;

/**
 * Rows handed to SQL in bulk: a new TEMP table named after `prefix` (and a number of its own, so
 * concurrent callers on one connection never meet in one table) with one column per key of
 * `columns`, of its DuckDB type, filled through the appender. Returns the qualified name to use in
 * statements (`temp.main.<name>`) and to drop it with. Set-based statements over it replace a
 * statement per row.
 */
export async function stageColumns(
  db: DuckDBConnection,
  prefix: string,
  columns: Readonly<Record<string, AppendColumn>>,
): Promise<string> {
  const name = `${prefix}_${process.pid}_${++counter}`;
  const definition = Object.entries(columns)
    .map(([column, { type }]) => `${column} ${type.toString()}`)
    .join(", ");
  await db.run(`CREATE TEMP TABLE ${name} (${definition})`);
  await appendColumns(db, name, Object.values(columns), { schema: "main", catalog: "temp" });
  return `temp.main.${name}`;
}

/** Drops staging tables made by `stageColumns` (by the names it returned). */
export async function dropStaged(db: DuckDBConnection, ...tables: string[]): Promise<void> {
  for (const table of tables) await db.run(`DROP TABLE IF EXISTS ${table}`);
}

/** `stageColumns`, then `fn` over the staged table, which is dropped afterwards whatever happens. */
export async function withStaged<T>(
  db: DuckDBConnection,
  prefix: string,
  columns: Readonly<Record<string, AppendColumn>>,
  fn: (table: string) => Promise<T>,
): Promise<T> {
  const table = await stageColumns(db, prefix, columns);
  try {
    return await fn(table);
  } finally {
    await dropStaged(db, table);
  }
}
