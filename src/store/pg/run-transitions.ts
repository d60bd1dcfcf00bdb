/**
 * The one way a run's state changes, on PostgreSQL: `transitionRuns`' twin (../run-transitions.ts).
 * A guarded `UPDATE runs ... WHERE state = ANY(<states the table allows into "to">) RETURNING id`
 * and one `state_transitions` row per run that moved, in one transaction. Concurrent callers need
 * no lock of ours: the UPDATE takes each row's lock, and under READ COMMITTED a second UPDATE of the
 * same row waits for the first to commit, then re-checks its WHERE against the new state; a run that
 * moved on meanwhile is left out of RETURNING. Callers learn which runs moved. The notifications
 * the change announces (`enqueueRunEventsPg`) are written in the same transaction, as DuckDB's are.
 */
import type { RunSelector, RunStatePatch, RunTransition } from "../run-transitions.js";
import { isFinalRunState, type RunState, runStatesInto } from "../states.js";
import { enqueueRunEventsPg } from "./notify-outbox.js";
import { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

export type { RunSelector, RunStatePatch, RunTransition };

const PATCHABLE = ["started_at", "ended_at", "error", "lease_owner", "lease_expires_at"] as const;

/**
 * Moves the selected runs to `t.to` where the transition table allows it from their current state
 * (and `t.from`, when given); others are left as they are. Returns the ids of the runs that moved.
 */
export async function transitionRunsPg(db: PgDb, select: RunSelector, t: RunTransition): Promise<string[]> {
  if (select.ids === undefined && select.leaseOwner === undefined) {
    throw new Error("transitionRunsPg: select runs by ids or lease owner");
  }
  const from = runStatesInto(t.to, t.from);
  if (from.length === 0 || (select.ids !== undefined && select.ids.length === 0)) return [];
  const values: unknown[] = [t.to, from];
  const sets = ["state = $1"];
  const where = ["state = ANY($2::text[])"];
  for (const key of PATCHABLE) {
    const value: RunStatePatch[typeof key] = t.set?.[key];
    if (value === undefined) continue;
    values.push(value);
    sets.push(`${key} = $${values.length}`);
  }
  if (select.ids !== undefined) {
    values.push([...select.ids]);
    where.push(`id = ANY($${values.length}::text[])`);
  }
  if (select.leaseOwner !== undefined) {
    values.push(select.leaseOwner);
    where.push(`lease_owner = $${values.length}`);
  }
  return withPgTransaction(db, async (tx) => {
    const moved = (
      await pgQuery<{ id: string }>(
        tx,
        `UPDATE runs SET ${sets.join(", ")} WHERE ${where.join(" AND ")} RETURNING id`,
        values,
      )
    ).rows.map((row) => row.id);
    if (moved.length > 0) {
      await recordRunTransitionsPg(tx, moved, t.to, t.at, t.message ?? null);
      // What the change announces (notification rules) commits with it, or not at all.
      await enqueueRunEventsPg(tx, moved, t.to, t.at);
    }
    return moved;
  });
}

/**
 * `state_transitions` rows of whole runs (task_id NULL) that all entered `state`. A state that
 * offers a run (Scheduled, Late) or frees a slot (a final one) also wakes the processes waiting
 * for work (`RUNS_CHANNEL`, delivered at COMMIT, once per transaction and state).
 */
export async function recordRunTransitionsPg(
  tx: PgTx,
  runIds: readonly string[],
  state: RunState,
  at: Date,
  message: string | null,
): Promise<void> {
  const insert = `INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt, message)
     SELECT id, NULL, $2, 0, $3, 0, $4 FROM unnest($1::text[]) AS id`;
  await pgQuery(
    tx,
    wakesWorkers(state) ? `WITH recorded AS (${insert}) SELECT pg_notify('${RUNS_CHANNEL}', $3)` : insert,
    [[...runIds], at, state, message],
  );
}

/** The channel of `NOTIFY`s that runs may be claimable (`listen.ts`). */
export const RUNS_CHANNEL = "tickflow_runs";

function wakesWorkers(state: RunState): boolean {
  return state === "Scheduled" || state === "Late" || isFinalRunState(state);
}
