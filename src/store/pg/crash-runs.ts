/**
 * Marking runs Crashed on PostgreSQL: `crashRuns`' twin (../crash-runs.ts). The run (through
 * `transitionRunsPg`: only runs the table lets into Crashed) and every task instance it left
 * unfinished end Crashed, with a transition row each, and the run's lease is cleared (its slot is
 * free), in one transaction.
 */
import { crashedTransition } from "../crash-runs.js";
import { taskStatesInto } from "../states.js";
import { transitionRunsPg } from "./run-transitions.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/** Returns the ids of the runs marked Crashed (those that had not ended meanwhile). */
export async function crashRunsPg(
  db: PgDb,
  ids: readonly string[],
  at: Date,
  message: string,
): Promise<string[]> {
  if (ids.length === 0) return [];
  return withPgTransaction(db, async (tx) => {
    const crashed = await transitionRunsPg(tx, { ids }, crashedTransition(at, message));
    if (crashed.length === 0) return crashed;
    await pgQuery(
      tx,
      `WITH t AS (
         UPDATE task_runs SET state = 'Crashed', ended_at = $3, error = $4
         WHERE run_id = ANY($1::text[]) AND state = ANY($2::text[])
         RETURNING run_id, task_id, attempts)
       INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt, message)
       SELECT run_id, task_id, $3, 0, 'Crashed', attempts, $4 FROM t`,
      [crashed, taskStatesInto("Crashed"), at, message],
    );
    return crashed;
  });
}
