/**
 * Retention's statements on PostgreSQL (`src/retention/apply-pg.ts` applies a rule with them): the
 * same parts (`src/retention/parts.ts`, SQL both backends read alike) counted and deleted here.
 */
import type { Part } from "../../retention/parts.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** Rows of `relation` (matching `where` when given). */
export async function countRowsPg(db: PgDb, relation: string, where?: string): Promise<number> {
  const res = await pgQuery<{ n: number }>(
    db,
    `SELECT count(*)::integer AS n FROM ${relation}${where === undefined ? "" : ` WHERE ${where}`}`,
  );
  return res.rows[0]?.n ?? 0;
}

/** Deletes the part's rows from its physical table; returns the rows PostgreSQL reports deleted. */
export async function deleteRowsPg(db: PgDb, part: Part): Promise<number> {
  const res = await pgQuery(db, `DELETE FROM ${part.deleteFrom} WHERE ${part.deleteWhere ?? part.where}`);
  return res.rowCount ?? 0;
}

/** Whether a base table (not a view) of that name exists in the current schema. */
export async function tableExistsPg(db: PgDb, name: string): Promise<boolean> {
  const res = await pgQuery(
    db,
    `SELECT 1 FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_name = $1 AND table_type = 'BASE TABLE'`,
    [name],
  );
  return res.rows.length > 0;
}
