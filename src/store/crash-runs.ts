/**
 * Marking runs Crashed: their process died while they held a slot. The run and every task
 * instance it left unfinished end Crashed, with a transition row each, in one transaction.
 */
import { listValue } from "@duckdb/node-api";
import type { Connection } from "./connection-lock.js";
import { type RunTransition, transitionRuns } from "./run-transitions.js";
import { taskStatesInto } from "./states.js";
import { withTransaction } from "./transaction.js";
import { timestampTZ } from "./values.js";

/** The change of a crashed run (both backends): ended with `message` as its error, its lease (slot) let go. */
export function crashedTransition(at: Date, message: string): RunTransition {
  return {
    to: "Crashed",
    at,
    message,
    set: { ended_at: at, error: message, lease_owner: null, lease_expires_at: null },
  };
}

/** Returns the ids of the runs marked Crashed (those that had not ended meanwhile). */
export async function crashRuns(
  on: Connection,
  ids: readonly string[],
  at: Date,
  message: string,
): Promise<string[]> {
  if (ids.length === 0) return [];
  return withTransaction(
    on,
    async (tx) => {
      const db = tx.db;
      const crashed = await transitionRuns(tx, { ids }, crashedTransition(at, message));
      if (crashed.length === 0) return crashed;
      const values = {
        ids: listValue(crashed),
        unfinished: listValue(taskStatesInto("Crashed")),
        at: timestampTZ(at),
        message,
      };
      const tasks = await db.runAndReadAll(
        `UPDATE task_runs SET state = 'Crashed', ended_at = $at, error = $message
         WHERE run_id IN (SELECT unnest($ids::VARCHAR[])) AND state IN (SELECT unnest($unfinished::VARCHAR[]))
         RETURNING run_id, task_id, attempts`,
        values,
      );
      const rows = tasks.getRows();
      if (rows.length > 0) {
        await db.run(
          `INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt, message)
           SELECT unnest($runs::VARCHAR[]), unnest($tasks::VARCHAR[]), $at, 0, 'Crashed', unnest($attempts::INTEGER[]), $message`,
          {
            runs: listValue(rows.map((r) => String(r[0]))),
            tasks: listValue(rows.map((r) => String(r[1]))),
            attempts: listValue(rows.map((r) => Number(r[2]))),
            at: timestampTZ(at),
            message,
          },
        );
      }
      return crashed;
    },
    { retryConflicts: 5 },
  );
}
