import { type Connection, Locked, withConnectionLock } from "./connection-lock.js";

export interface TransactionOptions {
  /**
   * Times to run `fn` again when DuckDB refuses the commit as conflicting with another connection's
   * (optimistic concurrency: two connections updated one row). Only a transaction this call began
   * can be retried. Default 0.
   */
  retryConflicts?: number;
}

/**
 * Runs `fn` inside one transaction: committed when it resolves, rolled back when it throws (the
 * error is rethrown). Holds the connection's lock meanwhile, so concurrent callers sharing it take
 * turns. `fn` gets the transaction (a `Locked`) to hand to the store operations it calls; given one
 * already in a transaction, `fn` joins it.
 */
export async function withTransaction<T>(
  on: Connection,
  fn: (tx: Locked) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (on instanceof Locked && on.inTransaction) return fn(on);
  return withConnectionLock(on, async (locked) => {
    const tx = new Locked(locked.db, true);
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(tx, fn);
      } catch (err) {
        if (attempt >= (options.retryConflicts ?? 0) || !isConflict(err)) throw err;
        // Let the other writer commit first.
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8 * (attempt + 1)));
      }
    }
  });
}

async function once<T>(tx: Locked, fn: (tx: Locked) => Promise<T>): Promise<T> {
  const db = tx.db;
  await db.run("BEGIN TRANSACTION");
  let result: T;
  try {
    result = await fn(tx);
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
