import type { DuckDBConnection } from "@duckdb/node-api";
import { inTransaction, markTransaction, withConnectionLock } from "./connection-lock.js";

export interface TransactionOptions {
  /**
   * Times to run `fn` again when DuckDB refuses the commit as conflicting with another connection's
   * (optimistic concurrency: two connections updated one row). Only a transaction this call began
   * can be retried. Default 0.
   */
  retryConflicts?: number;
}

/**
 * Runs `fn` inside one transaction on `db`: committed when it resolves, rolled back when it throws
 * (the error is rethrown). Holds the connection's lock meanwhile, so concurrent callers sharing
 * `db` take turns. Nested calls (inside `fn`) join the transaction already open.
 */
export async function withTransaction<T>(
  db: DuckDBConnection,
  fn: () => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (inTransaction(db)) return fn();
  return withConnectionLock(db, async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(db, fn);
      } catch (err) {
        if (attempt >= (options.retryConflicts ?? 0) || !isConflict(err)) throw err;
        // Let the other writer commit first.
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8 * (attempt + 1)));
      }
    }
  });
}

async function once<T>(db: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await db.run("BEGIN TRANSACTION");
  let result: T;
  try {
    result = await markTransaction(db, fn);
  } catch (err) {
    await db.run("ROLLBACK").catch(() => undefined);
    throw err;
  }
  try {
    await db.run("COMMIT");
  } catch (err) {
    await db.run("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return result;
}

/** DuckDB's refusal of a write that another connection's transaction changed first. */
export function isConflict(err: unknown): boolean {
  return /conflict/i.test(err instanceof Error ? err.message : String(err));
}
