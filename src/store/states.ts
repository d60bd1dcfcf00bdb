/**
 * The run and task state words (SPEC section 5), once, and which changes between them are allowed.
 * Every write of a state checks this table: `transitionRuns` for runs, `RunRecorder` for tasks.
 */

export const RUN_STATES = [
  "Scheduled",
  "Late",
  "Pending",
  "Running",
  "Completed",
  "Failed",
  "Crashed",
  "Cancelling",
  "Cancelled",
] as const;
export type RunState = (typeof RUN_STATES)[number];

export const TASK_STATES = [
  "Pending",
  "Running",
  "Retrying",
  "Completed",
  "Cached",
  "Failed",
  "Skipped",
  "Cancelled",
  "Crashed",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** States a run is created in: queued by the scheduler, backfill or on demand, or run at once (`tickflow run`). */
export const INITIAL_RUN_STATES = ["Scheduled", "Late", "Running"] as const satisfies readonly RunState[];

/** Made but not taken by a worker yet. */
export const WAITING_RUN_STATES = ["Scheduled", "Late"] as const satisfies readonly RunState[];

/** Taken by a worker: the run holds a slot of its pool, queue and deployment. */
export const SLOT_RUN_STATES = ["Pending", "Running", "Cancelling"] as const satisfies readonly RunState[];

/** A run in one of these never changes again. */
export const FINAL_RUN_STATES = [
  "Completed",
  "Failed",
  "Crashed",
  "Cancelled",
] as const satisfies readonly RunState[];

/** A task instance in one of these never changes again. */
export const FINAL_TASK_STATES = [
  "Completed",
  "Cached",
  "Failed",
  "Skipped",
  "Cancelled",
  "Crashed",
] as const satisfies readonly TaskState[];

/**
 * Where a run may go from each state. A waiting run is taken (Pending), turns Late, or is
 * cancelled; a taken run starts, goes back to the queue (Scheduled: its daemon stopped before
 * starting it), fails before it starts (its pipeline no longer loads) or is found Crashed; a cancel
 * of a taken run passes through Cancelling, which the run's process ends (as Cancelled, or as
 * whatever it reached first).
 */
export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  Scheduled: ["Late", "Pending", "Cancelled"],
  Late: ["Pending", "Cancelled"],
  Pending: ["Running", "Scheduled", "Cancelling", "Cancelled", "Failed", "Crashed"],
  Running: ["Completed", "Failed", "Cancelling", "Cancelled", "Crashed"],
  Cancelling: ["Completed", "Failed", "Cancelled", "Crashed"],
  Completed: [],
  Failed: [],
  Crashed: [],
  Cancelled: [],
};

/**
 * Where a task instance may go. It is first recorded when it starts or ends (Pending is implicit);
 * between attempts it is Retrying; a crash of its run ends it Crashed.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  Pending: ["Running", "Cached", "Skipped", "Failed", "Cancelled", "Crashed"],
  Running: ["Completed", "Failed", "Retrying", "Cancelled", "Crashed"],
  Retrying: ["Running", "Failed", "Cancelled", "Crashed"],
  Completed: [],
  Cached: [],
  Failed: [],
  Skipped: [],
  Cancelled: [],
  Crashed: [],
};

const runStates: ReadonlySet<string> = new Set(RUN_STATES);
const taskStates: ReadonlySet<string> = new Set(TASK_STATES);
const finalRun: ReadonlySet<string> = new Set(FINAL_RUN_STATES);
const finalTask: ReadonlySet<string> = new Set(FINAL_TASK_STATES);

export function isRunState(word: string): word is RunState {
  return runStates.has(word);
}

export function isTaskState(word: string): word is TaskState {
  return taskStates.has(word);
}

export function isFinalRunState(state: string): boolean {
  return finalRun.has(state);
}

export function isFinalTaskState(state: string): boolean {
  return finalTask.has(state);
}

/** The states from which a run may move to `to`, narrowed to `only` when given. */
export function runStatesInto(to: RunState, only?: readonly RunState[]): RunState[] {
  return RUN_STATES.filter(
    (from) => RUN_TRANSITIONS[from].includes(to) && (only === undefined || only.includes(from)),
  );
}

/** The task states from which an instance may move to `to`. */
export function taskStatesInto(to: TaskState): TaskState[] {
  return TASK_STATES.filter((from) => TASK_TRANSITIONS[from].includes(to));
}

/** Whether a task instance in `from` (undefined: not recorded yet) may move to `to`. */
export function canTaskMove(from: TaskState | undefined, to: TaskState): boolean {
  return TASK_TRANSITIONS[from ?? "Pending"].includes(to);
}
