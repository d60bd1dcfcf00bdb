/**
 * Pausing and resuming at run time (CLI/API) on PostgreSQL: the twins of `setDeploymentPaused` and
 * `setWorkPoolPaused` (src/daemon/deploy.ts). A redeploy keeps what the user paused.
 */
import { deleteWaitingRunsPg } from "./delete-waiting-runs.js";
import { lockDeploymentsPg } from "./deployments-write.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/**
 * Pauses or resumes a deployment: pausing deletes its waiting runs, resuming restarts its schedules
 * from `now` (the fires missed meanwhile are not made up). False when there is no such deployment.
 */
export async function setDeploymentPausedPg(
  db: PgDb,
  name: string,
  paused: boolean,
  now: Date,
): Promise<boolean> {
  return withPgTransaction(db, async (tx) => {
    // A scheduler pass that read the deployment unpaused must not make its runs again after this.
    await lockDeploymentsPg(tx);
    const found = await pgQuery(tx, "UPDATE deployments SET paused = $2 WHERE name = $1 RETURNING name", [
      name,
      paused,
    ]);
    if (found.rowCount === 0) return false;
    if (paused) await deleteWaitingRunsPg(tx, { deployments: [name] });
    else await pgQuery(tx, "UPDATE schedules SET scheduled_until = $2 WHERE deployment = $1", [name, now]);
    return true;
  });
}

/** Pauses or resumes a work pool (its runs wait, Late). False when there is no such pool. */
export async function setWorkPoolPausedPg(db: PgDb, name: string, paused: boolean): Promise<boolean> {
  const found = await pgQuery(db, "UPDATE work_pools SET paused = $2 WHERE name = $1", [name, paused]);
  return (found.rowCount ?? 0) > 0;
}
