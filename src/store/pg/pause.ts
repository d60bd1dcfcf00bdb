/**
 * Pausing and resuming deployments and work pools on PostgreSQL (the API's and the CLI's
 * `pause`/`resume`), as DuckDB's `setDeploymentPaused` and `setWorkPoolPaused`
 * (src/daemon/deploy.ts) do: a paused deployment's waiting runs are deleted (the scheduler makes
 * none while it is paused), a resumed one's schedules restart from now (no catch-up of the pause).
 */
import { WAITING_RUN_STATES } from "../states.js";
import { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

/** Pauses or resumes a deployment; false when none has this name. */
export async function setDeploymentPausedPg(
  db: PgDb,
  name: string,
  paused: boolean,
  now: Date,
): Promise<boolean> {
  return withPgTransaction(db, async (tx) => {
    const found = await pgQuery(tx, "UPDATE deployments SET paused = $2 WHERE name = $1 RETURNING name", [
      name,
      paused,
    ]);
    if (found.rowCount === 0) return false;
    if (paused) await deleteWaitingRunsOfDeploymentPg(tx, name);
    else await pgQuery(tx, "UPDATE schedules SET scheduled_until = $2 WHERE deployment = $1", [name, now]);
    return true;
  });
}

/**
 * Deletes the deployment's runs that wait (Scheduled or Late) and their transitions: the part of
 * `deleteWaitingRuns` (../create-runs.ts) that a pause needs. Returns how many runs went.
 */
export async function deleteWaitingRunsOfDeploymentPg(tx: PgTx, deployment: string): Promise<number> {
  const doomed = await pgQuery<{ id: string }>(
    tx,
    // FOR UPDATE waits for a claim holding one of these, then re-checks its state: a run claimed
    // meanwhile (Pending) is no longer waiting and stays.
    "SELECT id FROM runs WHERE deployment = $1 AND state = ANY($2::text[]) FOR UPDATE",
    [deployment, [...WAITING_RUN_STATES]],
  );
  const ids = doomed.rows.map((r) => r.id);
  if (ids.length === 0) return 0;
  await pgQuery(tx, "DELETE FROM state_transitions WHERE run_id = ANY($1::text[])", [ids]);
  const deleted = await pgQuery(tx, "DELETE FROM runs WHERE id = ANY($1::text[])", [ids]);
  return deleted.rowCount ?? 0;
}

/** Pauses or resumes a work pool; false when none has this name. */
export async function setWorkPoolPausedPg(db: PgDb, name: string, paused: boolean): Promise<boolean> {
  const found = await pgQuery(db, "UPDATE work_pools SET paused = $2 WHERE name = $1 RETURNING name", [
    name,
    paused,
  ]);
  return (found.rowCount ?? 0) > 0;
}
