/**
 * Reads of runs and task runs on PostgreSQL: the twins of `../runs.ts` the engine needs.
 * (Stub: filled in by the recorder port.)
 */
import type { CachedTask, RunRow } from "../runs.js";
import type { PgDb } from "./transaction.js";

export async function findRunByIdPg(_db: PgDb, _id: string): Promise<RunRow | undefined> {
  throw new Error("findRunByIdPg: not yet on PostgreSQL");
}

export async function findCachedTaskPg(
  _db: PgDb,
  _cacheKey: string,
  _notBefore: Date | undefined,
): Promise<CachedTask | undefined> {
  throw new Error("findCachedTaskPg: not yet on PostgreSQL");
}
