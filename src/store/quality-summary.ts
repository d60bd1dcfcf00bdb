/** The findings of the latest validation, counted (the console's overview). */
import type { DuckDBConnection } from "@duckdb/node-api";
import { asNumber, asString, rowObjects } from "./values.js";

export interface QualitySummary {
  /** The run that wrote the latest findings (null: none yet). */
  run_id: string | null;
  findings: { source: string; check_name: string; severity: string; count: number }[];
}

/** The findings of the run that wrote the newest quality result, by source, check and severity. */
export async function latestQualitySummary(db: DuckDBConnection): Promise<QualitySummary> {
  const latest = rowObjects(
    await db.runAndReadAll(
      "SELECT arg_max(run_id, created_at) AS run_id FROM quality_results WHERE run_id IS NOT NULL",
    ),
  )[0];
  const runId = asString(latest?.run_id);
  if (runId === null) return { run_id: null, findings: [] };
  const reader = await db.runAndReadAll(
    `SELECT coalesce(source, '') AS source, check_name, severity, count(*) AS n FROM quality_results
     WHERE run_id = $run_id GROUP BY ALL ORDER BY source, check_name, severity`,
    { run_id: runId },
  );
  return qualitySummaryOf(runId, rowObjects(reader));
}

/** The findings counted (source, check_name, severity, n) of run `runId` as a `QualitySummary`. */
export function qualitySummaryOf(runId: string, rows: readonly Record<string, unknown>[]): QualitySummary {
  return {
    run_id: runId,
    findings: rows.map((r) => ({
      source: String(r.source),
      check_name: String(r.check_name),
      severity: String(r.severity),
      count: asNumber(r.n),
    })),
  };
}
