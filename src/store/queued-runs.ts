/** The runs waiting for a work pool's slots, in the order the daemon takes them (src/daemon/claim.ts). */
import type { DuckDBConnection } from "@duckdb/node-api";
import { type RunRow, runColumns, toRunRow } from "./runs.js";
import { WAITING_RUN_STATES } from "./states.js";
import { rowObjects, timestampTZ } from "./values.js";

/**
 * The runs the daemon may take, over `runs r LEFT JOIN deployments d` (on the deployment) and
 * `work_queues q` (on pool and queue), with `$now`: Scheduled or Late, due, of an unpaused
 * deployment. `claimRuns` (src/daemon/claim.ts) and `queuedRunsOf` both filter with it.
 */
export const CLAIMABLE_RUNS = claimableRuns("$now");

/** `CLAIMABLE_RUNS` with `now` as the placeholder of the instant (PostgreSQL's `$1`, say). */
export function claimableRuns(now: string): string {
  return `r.state IN (${WAITING_RUN_STATES.map((s) => `'${s}'`).join(", ")})
  AND r.scheduled_at <= ${now} AND coalesce(d.paused, false) = false`;
}

/** The claim order over the same joins: the queue's priority (lower first; no queue last), then when due, then id. */
export const CLAIM_ORDER = "coalesce(q.priority, 1000000), r.scheduled_at, r.id";

/**
 * Runs of `pool` due at `now` and waiting (`CLAIMABLE_RUNS`), at most `limit`, in `CLAIM_ORDER`:
 * the order `claimRuns` takes them in (pool and queue limits aside).
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
     WHERE r.work_pool = $pool AND ${CLAIMABLE_RUNS}
     ORDER BY ${CLAIM_ORDER}
     LIMIT ${Math.max(0, Math.trunc(limit))}`,
    { pool, now: timestampTZ(now) },
  );
  return rowObjects(reader).map(toRunRow);
}
