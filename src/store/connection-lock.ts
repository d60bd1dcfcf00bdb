import type { DuckDBConnection } from "@duckdb/node-api";

/**
 * Proof that the caller holds a connection's lock (and whether it has a transaction open on it):
 * `withConnectionLock` and `withTransaction` hand one to their function, which passes it on to the
 * store operations it calls so that they join the lock (and the transaction) instead of waiting
 * for it. Passed explicitly: Node 20's AsyncLocalStorage would make every promise of the process
 * 2.5 times slower.
 */
export class Locked {
  constructor(
    readonly db: DuckDBConnection,
    readonly inTransaction: boolean,
  ) {}
}

/** A connection, or the lock of one held by the caller. */
export type Connection = DuckDBConnection | Locked;

/** The connection itself, to run statements on. */
export function connectionOf(on: Connection): DuckDBConnection {
  return on instanceof Locked ? on.db : on;
}

const tails = new WeakMap<DuckDBConnection, Promise<unknown>>();

/**
 * Runs `fn` after every earlier `withConnectionLock` call on the connection has settled. A
 * connection runs one statement (and one transaction) at a time, and work that shares one (the
 * steps' fetches, the daemon's scheduler and API) interleaves across awaits: multi-statement work
 * takes turns here. Given a `Locked` (the caller holds the lock already), `fn` runs at once.
 */
export function withConnectionLock<T>(on: Connection, fn: (locked: Locked) => Promise<T>): Promise<T> {
  if (on instanceof Locked) return fn(on);
  const locked = new Locked(on, false);
  const run = () => fn(locked);
  const previous = tails.get(on) ?? Promise.resolve();
  const result = previous.then(run, run);
  tails.set(
    on,
    result.catch(() => undefined),
  );
  return result;
}
