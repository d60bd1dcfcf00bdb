/** The findings of the latest validation, counted, on PostgreSQL (the console's overview). */
import { type QualitySummary, qualitySummaryOf } from "../quality-summary.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** The findings of the run that wrote the newest quality result, by source, check and severity. */
export async function latestQualitySummaryPg(db: PgDb): Promise<QualitySummary> {
  // DuckDB's arg_max(run_id, created_at): rows without a time do not count.
  const latest = await pgQuery<{ run_id: string }>(
    db,
    `SELECT run_id FROM quality_results WHERE run_id IS NOT NULL AND created_at IS NOT NULL
     ORDER BY created_at DESC LIMIT 1`,
  );
  const runId = latest.rows[0]?.run_id;
  if (runId === undefined) return { run_id: null, findings: [] };
  const counted = await pgQuery(
    db,
    `SELECT coalesce(source, '') AS source, check_name, severity, count(*) AS n FROM quality_results
     WHERE run_id = $1 GROUP BY 1, 2, 3
     ORDER BY coalesce(source, '') COLLATE "C", check_name COLLATE "C", severity COLLATE "C"`,
    [runId],
  );
  return qualitySummaryOf(runId, counted.rows);
}
