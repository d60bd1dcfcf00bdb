import { AsyncLocalStorage } from "node:async_hooks";
import type { DuckDBConnection } from "@duckdb/node-api";

/** What the current async context holds: connections it has locked, and those in its transaction. */
interface Held {
  locked: ReadonlySet<DuckDBConnection>;
  transactions: Set<DuckDBConnection>;
}

const tails = new WeakMap<DuckDBConnection, Promise<unknown>>();
const held = new AsyncLocalStorage<Held>();

/**
 * Runs `fn` after every earlier `withConnectionLock` call on `db` has settled. A connection runs
 * one statement (and one transaction) at a time, and work that shares one (the steps' fetches, the
 * daemon's scheduler and API) interleaves across awaits: multi-statement work takes turns here.
 * Re-entrant: `fn` (and what it awaits) may lock `db` again without waiting for itself.
 */
export function withConnectionLock<T>(db: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  const outer = held.getStore();
  if (outer?.locked.has(db)) return fn();
  const inside: Held = {
    locked: new Set([...(outer?.locked ?? []), db]),
    transactions: outer?.transactions ?? new Set(),
  };
  const run = () => held.run(inside, fn);
  const previous = tails.get(db) ?? Promise.resolve();
  const result = previous.then(run, run);
  tails.set(
    db,
    result.catch(() => undefined),
  );
  return result;
}

/** Whether the current async context has a transaction open on `db` (see `withTransaction`). */
export function inTransaction(db: DuckDBConnection): boolean {
  return held.getStore()?.transactions.has(db) === true;
}

/** Marks `db` as in a transaction for the current (locked) context while `fn` runs. */
export async function markTransaction<T>(db: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  const store = held.getStore();
  if (!store?.locked.has(db)) throw new Error("markTransaction outside withConnectionLock");
  store.transactions.add(db);
  try {
    return await fn();
  } finally {
    store.transactions.delete(db);
  }
}
