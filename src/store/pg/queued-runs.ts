/** `queuedRunsOf` on PostgreSQL: a pool's due, waiting runs in the order claims take them. */
import { CLAIM_ORDER, claimableRuns } from "../queued-runs.js";
import { type RunRow, runColumns, toRunRow } from "../runs.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** Runs of `pool` due at `now` and waiting, at most `limit`, in `CLAIM_ORDER` (as `claimRunsPg` takes them). */
export async function queuedRunsOfPg(db: PgDb, pool: string, now: Date, limit: number): Promise<RunRow[]> {
  const result = await pgQuery(
    db,
    `SELECT ${runColumns("r")} FROM runs r
     LEFT JOIN deployments d ON d.name = r.deployment
     LEFT JOIN work_queues q ON q.pool = r.work_pool AND q.name = r.work_queue
     WHERE r.work_pool = $1 AND ${claimableRuns("$2::timestamptz")}
     ORDER BY ${CLAIM_ORDER}
     LIMIT ${Math.max(0, Math.trunc(limit))}`,
    [pool, now],
  );
  return result.rows.map(toRunRow);
}
