/** The runs waiting for a work pool's slots, in the order the daemon takes them (src/daemon/claim.ts). */
import { type DuckDBConnection, listValue } from "@duckdb/node-api";
import { type RunRow, runColumns, toRunRow } from "./runs.js";
import { WAITING_RUN_STATES } from "./states.js";
import { rowObjects, timestampTZ } from "./values.js";

/**
 * Runs of `pool` due at `now` and waiting (Scheduled or Late, of unpaused deployments), at most
 * `limit`, in claim order: the queue's priority (lower first; no queue last), then when due, then id.
 * `claimRuns` orders its candidates the same way.
 */
export async function queuedRunsOf(
  db: DuckDBConnection,
  pool: string,
  now: Date,
  limit: number,
): Promise<RunRow[]> {
  const reader = await db.runAndReadAll(
    `SELECT ${runColumns("r")} FROM runs r
     LEFT JOIN deployments d ON d.name = r.deployment
     LEFT JOIN work_queues q ON q.pool = r.work_pool AND q.name = r.work_queue
     WHERE r.work_pool = $pool AND r.state IN (SELECT unnest($waiting::VARCHAR[])) AND r.scheduled_at <= $now
       AND coalesce(d.paused, false) = false
     ORDER BY coalesce(q.priority, 1000000), r.scheduled_at, r.id
     LIMIT ${Math.max(0, Math.trunc(limit))}`,
    { pool, waiting: listValue([...WAITING_RUN_STATES]), now: timestampTZ(now) },
  );
  return rowObjects(reader).map(toRunRow);
}
