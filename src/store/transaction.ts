import type { DuckDBConnection } from "@duckdb/node-api";

/**
 * Runs `fn` inside one transaction on `db`: committed when it resolves, rolled back when it throws
 * (the error is rethrown). The caller must not share `db` with concurrent writers meanwhile
 * (`withConnectionLock` serialises writers of a shared connection).
 */
export async function withTransaction<T>(db: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await db.run("BEGIN TRANSACTION");
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await db.run("ROLLBACK").catch(() => undefined);
    throw err;
  }
  await db.run("COMMIT");
  return result;
}
