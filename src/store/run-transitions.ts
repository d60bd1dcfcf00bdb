/**
 * The one way a run's state changes: a guarded UPDATE ... RETURNING (only runs whose current
 * state the transition table allows move) and, in the same transaction, a `state_transitions` row
 * for each run that moved, and the outbox rows of the notifications the change announces.
 * Concurrent callers on one connection take turns (the connection lock), so none sees another's
 * half-done work; a write conflict with another connection is retried.
 */
import { type DuckDBConnection, type DuckDBValue, listValue } from "@duckdb/node-api";
import type { Connection } from "./connection-lock.js";
import { enqueueRunEvents } from "./notify-outbox.js";
import { type RunState, runStatesInto } from "./states.js";
import { withTransaction } from "./transaction.js";
import { timestampTZ } from "./values.js";

/** Which runs a transition applies to. */
export interface RunSelector {
  ids?: readonly string[];
  /** Only runs leased by this owner (a worker's own runs). */
  leaseOwner?: string;
}

/** Columns that change with the state; absent keys stay as they are, null clears. */
export interface RunStatePatch {
  started_at?: Date | null;
  ended_at?: Date | null;
  error?: string | null;
  lease_owner?: string | null;
  lease_expires_at?: Date | null;
}

export interface RunTransition {
  to: RunState;
  at: Date;
  /** Why, kept with the transition (`state_transitions.message`). */
  message?: string | null;
  /** Only runs now in one of these states (narrows what the transition table allows). */
  from?: readonly RunState[];
  set?: RunStatePatch;
}

const PATCHABLE = ["started_at", "ended_at", "error", "lease_owner", "lease_expires_at"] as const;

/**
 * Moves the selected runs to `t.to` where the transition table allows it from their current state
 * (and `t.from`, when given); others are left as they are. Returns the ids of the runs that moved.
 */
export async function transitionRuns(
  on: Connection,
  select: RunSelector,
  t: RunTransition,
): Promise<string[]> {
  if (select.ids === undefined && select.leaseOwner === undefined) {
    throw new Error("transitionRuns: select runs by ids or lease owner");
  }
  const from = runStatesInto(t.to, t.from);
  if (from.length === 0 || (select.ids !== undefined && select.ids.length === 0)) return [];
  const values: Record<string, DuckDBValue> = { to: t.to };
  const sets = ["state = $to"];
  for (const key of PATCHABLE) {
    const value = t.set?.[key];
    if (value === undefined) continue;
    sets.push(`${key} = $${key}`);
    values[key] = value instanceof Date ? timestampTZ(value) : value;
  }
  // The state words are ours (states.ts), safe to write into the statement.
  const where = [`state IN (${from.map((state) => `'${state}'`).join(", ")})`];
  // One run (the engine's start and end, a cancel): a plain UPDATE whose changed-row count says
  // whether it moved, a few ms cheaper than a list and RETURNING.
  const one = select.ids?.length === 1 ? select.ids[0]! : undefined;
  if (one !== undefined) {
    where.push("id = $id");
    values.id = one;
  } else if (select.ids !== undefined) {
    where.push("id IN (SELECT unnest($ids::VARCHAR[]))");
    values.ids = listValue([...select.ids]);
  }
  if (select.leaseOwner !== undefined) {
    where.push("lease_owner = $owner");
    values.owner = select.leaseOwner;
  }
  const update = `UPDATE runs SET ${sets.join(", ")} WHERE ${where.join(" AND ")}`;
  return withTransaction(
    on,
    async ({ db }) => {
      let moved: string[];
      if (one !== undefined) moved = (await db.run(update, values)).rowsChanged > 0 ? [one] : [];
      else
        moved = (await db.runAndReadAll(`${update} RETURNING id`, values))
          .getRows()
          .map((row) => String(row[0]));
      if (moved.length > 0) {
        await recordRunTransitions(db, moved, t.to, t.at, t.message ?? null);
        // What the change announces (notification rules) commits with it, or not at all.
        await enqueueRunEvents(db, moved, t.to, t.at);
      }
      return moved;
    },
    { retryConflicts: 5 },
  );
}

/** `state_transitions` rows of whole runs (task_id NULL) that all entered `state`. */
export async function recordRunTransitions(
  db: DuckDBConnection,
  runIds: readonly string[],
  state: RunState,
  at: Date,
  message: string | null,
): Promise<void> {
  const row = { at: timestampTZ(at), state, message };
  if (runIds.length === 1) {
    await db.run(
      `INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt, message)
       VALUES ($id, NULL, $at, 0, $state, 0, $message)`,
      { id: runIds[0]!, ...row },
    );
    return;
  }
  await db.run(
    `INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt, message)
     SELECT unnest($ids::VARCHAR[]), NULL, $at, 0, $state, 0, $message`,
    { ids: listValue([...runIds]), ...row },
  );
}
