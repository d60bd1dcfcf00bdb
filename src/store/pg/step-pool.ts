/**
 * The pool behind a step's `ctx.pg`. Steps that need a connection of their own (a script's
 * session, a cancel sent through another connection, a cursor) take it from the pool; the engine
 * always hands steps the pool, never a transaction.
 */
import type pg from "pg";
import type { PgDb } from "./transaction.js";

export function poolOf(db: PgDb): pg.Pool {
  if ((db as { kind?: string }).kind === "pg-tx") {
    throw new Error("this step needs the PostgreSQL pool, not a transaction");
  }
  return db as pg.Pool;
}
