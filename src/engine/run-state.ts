/**
 * The run's own state, through the store's state owner: Running at the start (a new row, or the
 * scheduler's Pending one), its final state at the end (from Running, or Cancelling when a cancel
 * was asked for meanwhile).
 */
import type { AnyStore } from "../store/backend.js";
import type { RunState } from "../store/index.js";
import { runRecordsOf } from "../store/run-records.js";
import type { ExecuteOptions, RunResult } from "./run.js";

/** Records the run as Running: a new row, or the scheduler's Pending one. False when that one moved on. */
export async function startRun(options: ExecuteOptions, runId: string, at: Date): Promise<boolean> {
  const { store, doc, plan } = options;
  if (options.existingRun) {
    const started = await runRecordsOf(store).transitionRuns(
      { ids: [runId] },
      { to: "Running", from: ["Pending"], at, set: { started_at: at } },
    );
    return started.length > 0;
  }
  await runRecordsOf(store).createRuns(
    [
      {
        id: runId,
        pipeline: doc.name,
        deployment: options.deployment ?? null,
        state: "Running",
        parameters: plan.params,
        logical_date: plan.runDate,
        started_at: at,
        pipeline_file: options.file ?? null,
      },
    ],
    at,
    "started in this process",
  );
  return true;
}

export async function endRun(
  store: AnyStore,
  runId: string,
  state: RunState,
  error: string | undefined,
  at: Date,
) {
  await runRecordsOf(store).transitionRuns(
    { ids: [runId] },
    {
      to: state,
      from: ["Running", "Cancelling"],
      at,
      message: error ?? null,
      set: { ended_at: at, error: error ?? null, lease_owner: null, lease_expires_at: null },
    },
  );
}

/**
 * A taken run that could not start: it was cancelled (Cancelling: ended Cancelled here) or moved on
 * meanwhile. Nothing ran.
 */
export async function notStarted(
  store: AnyStore,
  runId: string,
  pipeline: string,
  at: Date,
): Promise<RunResult> {
  const ended = await runRecordsOf(store).transitionRuns(
    { ids: [runId] },
    {
      to: "Cancelled",
      from: ["Cancelling"],
      at,
      message: "cancelled before it started",
      set: { ended_at: at, error: "cancelled before it started", lease_owner: null, lease_expires_at: null },
    },
  );
  const run = await runRecordsOf(store).findRun(runId);
  const state = ended.length > 0 ? "Cancelled" : (run?.state ?? "Failed");
  const error = run?.error ?? `run ${runId} is ${state}: it cannot start`;
  return { id: runId, pipeline, state, error, tasks: [] };
}
