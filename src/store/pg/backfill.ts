/**
 * `tickflow backfill`'s reads on PostgreSQL (`backfillPg`, src/daemon/backfill.ts; which sessions
 * to queue is decided there for both backends).
 */
import { FINAL_RUN_STATES } from "../states.js";
import { type PgDb, type PgTx, pgQuery } from "./transaction.js";

export interface BackfillDeployment {
  pipeline: string;
  pipeline_file: string;
  parameters: Record<string, unknown>;
  work_pool: string | null;
  work_queue: string | null;
}

/**
 * Backfills of one deployment take turns (a transaction-level advisory lock): two at once would
 * each see no run waiting for a session and both queue it.
 */
export async function lockBackfillPg(tx: PgTx, deployment: string): Promise<void> {
  await pgQuery(tx, "SELECT pg_advisory_xact_lock(hashtextextended('tickflow:backfill:' || $1, 0))", [
    deployment,
  ]);
}

/** What a backfill's runs take from their deployment; undefined when there is no such deployment. */
export async function backfillDeploymentPg(db: PgDb, name: string): Promise<BackfillDeployment | undefined> {
  const rows = await pgQuery<BackfillDeployment>(
    db,
    `SELECT pipeline, pipeline_file, coalesce(parameters, '{}') AS parameters, work_pool, work_queue
     FROM deployments WHERE name = $1`,
    [name],
  );
  return rows.rows[0];
}

/** The sessions (`YYYY-MM-DD`) for which some of `symbols` has no bar in `bars_daily`. */
export async function sessionsMissingBarsPg(
  db: PgDb,
  sessions: readonly string[],
  symbols: readonly string[],
): Promise<Set<string>> {
  const rows = await pgQuery<{ date: string }>(
    db,
    `SELECT DISTINCT e.date::text AS date FROM unnest($1::date[]) AS e(date) CROSS JOIN unnest($2::text[]) AS s(symbol)
     WHERE NOT EXISTS (SELECT 1 FROM bars_daily b WHERE b.symbol = s.symbol AND b.date = e.date)`,
    [[...sessions], [...symbols]],
  );
  return new Set(rows.rows.map((r) => r.date));
}

/** The run dates of `deployment` between `from` and `to` with a run not finished (waiting or running). */
export async function unfinishedRunDatesPg(
  db: PgDb,
  deployment: string,
  from: string,
  to: string,
): Promise<Set<string>> {
  const rows = await pgQuery<{ d: string }>(
    db,
    `SELECT logical_date::text AS d FROM runs WHERE deployment = $1 AND NOT (state = ANY($2::text[]))
       AND logical_date BETWEEN $3::date AND $4::date`,
    [deployment, [...FINAL_RUN_STATES], from, to],
  );
  return new Set(rows.rows.map((r) => r.d));
}
