/**
 * The one way runs come into being: rows in bulk, inserted where their id is new (a run
 * keyed by deployment, schedule and instant is made once however often it is offered), each with
 * its first `state_transitions` row (and the notifications a run made Late announces), in one
 * transaction.
 */
import { type DuckDBType, type DuckDBValue, LIST, listValue, TIMESTAMPTZ, VARCHAR } from "@duckdb/node-api";
import type { Connection } from "./connection-lock.js";
import { enqueueRunEvents } from "./notify-outbox.js";
import { recordRunTransitions } from "./run-transitions.js";
import { INITIAL_RUN_STATES, type RunState, WAITING_RUN_STATES } from "./states.js";
import { withTransaction } from "./transaction.js";
import { timestampTZ } from "./values.js";

export interface NewRun {
  id: string;
  pipeline: string;
  deployment: string | null;
  /** Scheduled or Late (queued), or Running (executed at once by this process). */
  state: (typeof INITIAL_RUN_STATES)[number];
  parameters: Record<string, unknown>;
  /** `YYYY-MM-DD`. */
  logical_date: string | null;
  pipeline_file: string | null;
  /** When a queued run is due. */
  scheduled_at?: Date | null;
  schedule_id?: string | null;
  work_pool?: string | null;
  work_queue?: string | null;
  started_at?: Date | null;
  lease_owner?: string | null;
}

/** The text columns of a new run (`parameters` as JSON text), then its instants: both backends bind them per column. */
export const TEXT_COLUMNS = [
  "id",
  "pipeline",
  "deployment",
  "state",
  "parameters",
  "logical_date",
  "pipeline_file",
  "schedule_id",
  "work_pool",
  "work_queue",
  "lease_owner",
] as const;
export const TIME_COLUMNS = ["scheduled_at", "started_at"] as const;

/**
 * Inserts the runs whose id is not taken yet, recording their first transition with `message`.
 * Returns the ids inserted (in the order given). The rows travel as one list per column (one
 * statement whatever their number; a staging table cost a run started by `tickflow run` 10 ms).
 */
export async function createRuns(
  on: Connection,
  runs: readonly NewRun[],
  at: Date,
  message: string,
): Promise<string[]> {
  if (runs.length === 0) return [];
  checkInitialStates(runs);
  if (runs.length === 1) return createRun(on, runs[0]!, at, message);
  const values: Record<string, DuckDBValue> = { at: timestampTZ(at) };
  const types: Record<string, DuckDBType> = { at: TIMESTAMPTZ };
  for (const c of TEXT_COLUMNS) {
    values[c] = listValue(runs.map((run) => runText(run, c)));
    types[c] = LIST(VARCHAR);
  }
  for (const c of TIME_COLUMNS) {
    values[c] = listValue(runs.map((run) => (run[c] ? timestampTZ(run[c]) : null)));
    types[c] = LIST(TIMESTAMPTZ);
  }
  const columns = [...TEXT_COLUMNS, ...TIME_COLUMNS].map((c) => `unnest($${c}) AS ${c}`).join(", ");
  return withTransaction(on, async ({ db }) => {
    const reader = await db.runAndReadAll(
      `INSERT INTO runs (id, pipeline, deployment, state, parameters, logical_date, created_at, started_at,
         scheduled_at, schedule_id, work_pool, work_queue, pipeline_file, lease_owner)
       SELECT DISTINCT ON (s.id) s.id, s.pipeline, s.deployment, s.state, s.parameters::JSON,
         s.logical_date::DATE, $at, s.started_at, s.scheduled_at, s.schedule_id, s.work_pool, s.work_queue,
         s.pipeline_file, s.lease_owner
       FROM (SELECT ${columns}) s
       ON CONFLICT DO NOTHING
       RETURNING id, state`,
      values,
      types,
    );
    const made = new Map<RunState, string[]>();
    for (const [id, state] of reader.getRows()) {
      const list = made.get(String(state) as RunState) ?? [];
      list.push(String(id));
      made.set(String(state) as RunState, list);
    }
    for (const [state, ids] of made) {
      await recordRunTransitions(db, ids, state, at, message);
      await enqueueRunEvents(db, ids, state, at);
    }
    const inserted = new Set([...made.values()].flat());
    return [...new Set(runs.map((run) => run.id))].filter((id) => inserted.has(id));
  });
}

/** A new run's value of a text column: `parameters` as JSON. */
export function runText(run: NewRun, column: (typeof TEXT_COLUMNS)[number]): string | null {
  if (column === "parameters") return JSON.stringify(run.parameters ?? {});
  return run[column] ?? null;
}

/** Refuses runs to be created in a state other than `INITIAL_RUN_STATES` (both backends). */
export function checkInitialStates(runs: readonly NewRun[]): void {
  for (const run of runs) {
    if (!(INITIAL_RUN_STATES as readonly string[]).includes(run.state)) {
      throw new Error(`a run cannot be created ${run.state}`);
    }
  }
}

/**
 * One run (`tickflow run`, a run on demand, a retry): plain statements with scalar values, a few
 * ms cheaper than lists and RETURNING.
 */
function createRun(on: Connection, run: NewRun, at: Date, message: string): Promise<string[]> {
  const values: Record<string, DuckDBValue> = { at: timestampTZ(at) };
  for (const c of TEXT_COLUMNS)
    values[c] = c === "parameters" ? JSON.stringify(run.parameters ?? {}) : (run[c] ?? null);
  for (const c of TIME_COLUMNS) values[c] = run[c] ? timestampTZ(run[c]) : null;
  return withTransaction(on, async ({ db }) => {
    const taken = await db.runAndReadAll("SELECT 1 FROM runs WHERE id = $id", { id: run.id });
    if (taken.currentRowCount > 0) return [];
    await db.run(
      `INSERT INTO runs (id, pipeline, deployment, state, parameters, logical_date, created_at, started_at,
         scheduled_at, schedule_id, work_pool, work_queue, pipeline_file, lease_owner)
       VALUES ($id, $pipeline, $deployment, $state, $parameters::JSON, $logical_date::DATE, $at, $started_at,
         $scheduled_at, $schedule_id, $work_pool, $work_queue, $pipeline_file, $lease_owner)`,
      values,
      { started_at: TIMESTAMPTZ, scheduled_at: TIMESTAMPTZ, ...nullableText(values) },
    );
    await recordRunTransitions(db, [run.id], run.state, at, message);
    await enqueueRunEvents(db, [run.id], run.state, at);
    return [run.id];
  });
}

/** VARCHAR for text parameters bound as null (DuckDB cannot tell a null's type). */
function nullableText(values: Record<string, DuckDBValue>): Record<string, DuckDBType> {
  return Object.fromEntries(TEXT_COLUMNS.filter((c) => values[c] === null).map((c) => [c, VARCHAR]));
}

/** Which waiting runs to delete: every one of some deployments, or of some of their schedules. */
export interface WaitingRunsSelection {
  deployments?: readonly string[];
  schedules?: readonly { deployment: string; id: string }[];
}

/**
 * Deletes runs that were made but never taken (Scheduled, Late) of the given deployments, or of
 * the given (deployment, schedule) pairs, with their transitions: their definition changed or went
 * away, and the scheduler makes them again from the new one. Returns how many.
 */
export async function deleteWaitingRuns(on: Connection, select: WaitingRunsSelection): Promise<number> {
  const keys = [
    ...(select.deployments ?? []).map((d) => `${d}\u0000`),
    ...(select.schedules ?? []).map((s) => `${s.deployment}\u0000${s.id}`),
  ];
  if (keys.length === 0) return 0;
  return withTransaction(on, async ({ db }) => {
    const doomed = `SELECT id FROM runs WHERE state IN (SELECT unnest($waiting::VARCHAR[]))
      AND (deployment || chr(0) IN (SELECT unnest($keys::VARCHAR[]))
        OR deployment || chr(0) || coalesce(schedule_id, '') IN (SELECT unnest($keys::VARCHAR[])))`;
    const values = { keys: listValue(keys), waiting: listValue([...WAITING_RUN_STATES]) };
    await db.run(`DELETE FROM state_transitions WHERE run_id IN (${doomed})`, values);
    const reader = await db.runAndReadAll(`DELETE FROM runs WHERE id IN (${doomed}) RETURNING id`, values);
    return reader.getRows().length;
  });
}
