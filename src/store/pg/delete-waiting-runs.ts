/**
 * `deleteWaitingRuns`' twin on PostgreSQL (../create-runs.ts): runs made but never taken
 * (Scheduled, Late) of some deployments, or of some (deployment, schedule) pairs, deleted with
 * their transitions, because their definition changed or went away (the scheduler makes them
 * again from the new one).
 */
import type { WaitingRunsSelection } from "../create-runs.js";
import { WAITING_RUN_STATES } from "../states.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/** Deletes the selected waiting runs and their `state_transitions` rows; returns how many runs. */
export async function deleteWaitingRunsPg(db: PgDb, select: WaitingRunsSelection): Promise<number> {
  const deployments = [...(select.deployments ?? [])];
  const schedules = select.schedules ?? [];
  if (deployments.length === 0 && schedules.length === 0) return 0;
  const values = [
    [...WAITING_RUN_STATES],
    deployments,
    schedules.map((s) => s.deployment),
    schedules.map((s) => s.id),
  ];
  return withPgTransaction(db, async (tx) => {
    // The state is a condition on the deleted row itself: a claim racing the DELETE either took
    // the run first (re-checked, no longer waiting: kept) or finds it gone.
    const deleted = await pgQuery<{ id: string }>(
      tx,
      `DELETE FROM runs WHERE state = ANY($1::text[])
         AND (deployment = ANY($2::text[])
           OR (deployment, coalesce(schedule_id, '')) IN (SELECT * FROM unnest($3::text[], $4::text[])))
       RETURNING id`,
      values,
    );
    const ids = deleted.rows.map((r) => r.id);
    if (ids.length > 0)
      await pgQuery(tx, "DELETE FROM state_transitions WHERE run_id = ANY($1::text[])", [ids]);
    return ids.length;
  });
}
