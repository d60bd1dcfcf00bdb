import type { DuckDBConnection } from "@duckdb/node-api";

const locks = new WeakMap<DuckDBConnection, Promise<unknown>>();

/**
 * Runs `fn` after every earlier `withConnectionLock` call on `db` has settled. Steps fetch
 * concurrently but share one connection, which runs one statement (and one transaction) at a time:
 * their writes take turns here.
 */
export function withConnectionLock<T>(db: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(db) ?? Promise.resolve();
  const result = previous.then(fn, fn);
  locks.set(
    db,
    result.catch(() => undefined),
  );
  return result;
}
