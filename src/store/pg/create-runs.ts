/**
 * Runs come into being on PostgreSQL: `createRuns`' twin (../create-runs.ts). One multi-row
 * `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING id, state` (whatever the
 * number of runs), then each new run's first `state_transitions` row and the notifications it
 * announces (a run made Late: `enqueueRunEventsPg`), in one transaction.
 */
import { checkInitialStates, type NewRun, runText, TEXT_COLUMNS, TIME_COLUMNS } from "../create-runs.js";
import type { RunState } from "../states.js";
import { enqueueRunEventsPg } from "./notify-outbox.js";
import { recordRunTransitionsPg } from "./run-transitions.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

export type { NewRun };

/**
 * Inserts the runs whose id is not taken yet, recording their first transition with `message`.
 * Returns the ids inserted (in the order given).
 */
export async function createRunsPg(
  db: PgDb,
  runs: readonly NewRun[],
  at: Date,
  message: string,
): Promise<string[]> {
  if (runs.length === 0) return [];
  checkInitialStates(runs);
  const values: unknown[] = [at];
  const columns: string[] = [];
  for (const c of TEXT_COLUMNS) {
    values.push(runs.map((run) => runText(run, c)));
    columns.push(`$${values.length}::text[]`);
  }
  for (const c of TIME_COLUMNS) {
    values.push(runs.map((run) => run[c] ?? null));
    columns.push(`$${values.length}::timestamptz[]`);
  }
  const names = [...TEXT_COLUMNS, ...TIME_COLUMNS].join(", ");
  return withPgTransaction(db, async (tx) => {
    const inserted = await pgQuery<{ id: string; state: RunState }>(
      tx,
      `INSERT INTO runs (id, pipeline, deployment, state, parameters, logical_date, created_at, started_at,
         scheduled_at, schedule_id, work_pool, work_queue, pipeline_file, lease_owner)
       SELECT DISTINCT ON (s.id) s.id, s.pipeline, s.deployment, s.state, s.parameters::jsonb,
         s.logical_date::date, $1, s.started_at, s.scheduled_at, s.schedule_id, s.work_pool, s.work_queue,
         s.pipeline_file, s.lease_owner
       FROM unnest(${columns.join(", ")}) AS s(${names})
       ON CONFLICT DO NOTHING
       RETURNING id, state`,
      values,
    );
    const made = new Map<RunState, string[]>();
    for (const { id, state } of inserted.rows) made.set(state, [...(made.get(state) ?? []), id]);
    for (const [state, ids] of made) {
      await recordRunTransitionsPg(tx, ids, state, at, message);
      await enqueueRunEventsPg(tx, ids, state, at);
    }
    const ok = new Set(inserted.rows.map((row) => row.id));
    return [...new Set(runs.map((run) => run.id))].filter((id) => ok.has(id));
  });
}
