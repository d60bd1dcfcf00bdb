/**
 * The daemon's status line on PostgreSQL (`waitingRuns`' twin, src/daemon/status.ts): runs due
 * that no worker took, and when the next is due, over unpaused deployments and pools.
 */
import { WAITING_RUN_STATES } from "../states.js";
import { type PgDb, pgQuery } from "./transaction.js";

export async function waitingRunsPg(db: PgDb, now: Date): Promise<{ due: number; next: Date | undefined }> {
  const rows = await pgQuery<{ due: number; next: Date | null }>(
    db,
    `SELECT count(*) FILTER (WHERE r.scheduled_at <= $2)::integer AS due,
       min(r.scheduled_at) FILTER (WHERE r.scheduled_at > $2) AS next
     FROM runs r
     LEFT JOIN deployments d ON d.name = r.deployment
     LEFT JOIN work_pools p ON p.name = r.work_pool
     WHERE r.state = ANY($1::text[]) AND NOT coalesce(d.paused, false) AND NOT coalesce(p.paused, false)`,
    [[...WAITING_RUN_STATES], now],
  );
  const row = rows.rows[0];
  return { due: row?.due ?? 0, next: row?.next ?? undefined };
}
