/** Run states (SPEC section 5). */
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

/** Task states: the run's, plus Retrying, Cached and Skipped. */
export type TaskState =
  | "Pending"
  | "Running"
  | "Retrying"
  | "Completed"
  | "Cached"
  | "Failed"
  | "Skipped"
  | "Cancelled";
