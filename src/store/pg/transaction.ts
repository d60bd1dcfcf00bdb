/**
 * Transactions on the PostgreSQL store: `withPgTransaction(db, fn)` runs `fn` on one client of the
 * pool between BEGIN and COMMIT (ROLLBACK when it throws); handed a `PgTx` (a transaction already
 * open), it joins it, as DuckDB's `withTransaction` joins an outer one. Operations take a `PgDb`:
 * the pool (each call its own transaction) or a `PgTx` (part of the caller's).
 */
import type pg from "pg";

/** A transaction in progress on `client`. */
export interface PgTx {
  readonly kind: "pg-tx";
  readonly client: pg.PoolClient;
}

/** Where an operation runs: the pool, or a caller's transaction. */
export type PgDb = pg.Pool | PgTx;

/** Whether `db` is a transaction in progress (not the pool). */
export function isPgTx(db: PgDb): db is PgTx {
  return (db as PgTx).kind === "pg-tx";
}

/** Runs `fn` in a transaction (READ COMMITTED, PostgreSQL's default), or in `db`'s when it is one. */
export async function withPgTransaction<T>(db: PgDb, fn: (tx: PgTx) => Promise<T>): Promise<T> {
  if (isPgTx(db)) return fn(db);
  const client = await db.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    try {
      const result = await fn({ kind: "pg-tx", client });
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch((rollback: Error) => {
        broken = rollback; // the connection is gone: the pool must not hand it out again
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

/** One statement on `db`: the transaction's client, or any client of the pool. */
export function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: PgDb,
  sql: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return isPgTx(db) ? db.client.query<R>(sql, values) : db.query<R>(sql, values);
}
