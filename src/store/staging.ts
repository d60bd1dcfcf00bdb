import type { DuckDBConnection } from "@duckdb/node-api";
import { type AppendColumn, appendColumns } from "./append.js";

/**
 * Rows handed to SQL in bulk: a TEMP table `name` (replaced if it exists) with one column per key
 * of `columns`, of its DuckDB type, filled through the appender. Returns the qualified name to
 * use in statements (`temp.main.<name>`). Set-based statements over it replace a statement per row.
 */
export async function stageColumns(
  db: DuckDBConnection,
  name: string,
  columns: Readonly<Record<string, AppendColumn>>,
): Promise<string> {
  const definition = Object.entries(columns)
    .map(([column, { type }]) => `${column} ${type.toString()}`)
    .join(", ");
  await db.run(`CREATE OR REPLACE TEMP TABLE ${name} (${definition})`);
  await appendColumns(db, name, Object.values(columns), { schema: "main", catalog: "temp" });
  return `temp.main.${name}`;
}

/** Drops staging tables made by `stageColumns` (those that exist). */
export async function dropStaged(db: DuckDBConnection, ...names: string[]): Promise<void> {
  for (const name of names) await db.run(`DROP TABLE IF EXISTS temp.main.${name}`);
}

/** `stageColumns`, then `fn` over the staged table, which is dropped afterwards whatever happens. */
export async function withStaged<T>(
  db: DuckDBConnection,
  name: string,
  columns: Readonly<Record<string, AppendColumn>>,
  fn: (table: string) => Promise<T>,
): Promise<T> {
  try {
    return await fn(await stageColumns(db, name, columns));
  } finally {
    await dropStaged(db, name);
  }
}
