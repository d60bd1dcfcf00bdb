/**
 * The console's JSON: what each `/api` route answers, as it travels (instants are ISO 8601 UTC
 * strings, dates `YYYY-MM-DD`, numbers JSON numbers). Types only, with no imports, so that the
 * browser code (`ui/`) and the server share them. SPEC section 10 lists the views; the README of
 * `src/api` lists the routes.
 *
 * Bounded answers: lists are paged by a keyset cursor or capped; bars travel as columns.
 */

export type RunStateName =
  | "Scheduled"
  | "Late"
  | "Pending"
  | "Running"
  | "Cancelling"
  | "Completed"
  | "Failed"
  | "Cancelled"
  | "Crashed";

export type TaskStateName =
  | "Pending"
  | "Running"
  | "Retrying"
  | "Completed"
  | "Failed"
  | "Skipped"
  | "Cached"
  | "Cancelled"
  | "Crashed";

/** `GET /api/runs` rows (also `RunJson` in `attention`/`next` below). */
export interface RunJson {
  id: string;
  pipeline: string;
  deployment: string | null;
  state: RunStateName;
  parameters: Record<string, unknown>;
  logical_date: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
  pipeline_file: string | null;
  scheduled_at: string | null;
}

/**
 * `GET /api/runs?limit&state&pipeline&deployment&since&upcoming&before`: newest first; `before`
 * is the `next` cursor of the previous page (opaque text), so the console pages without OFFSET.
 * `GET /api/runs/page?...` answers this envelope (the bare `/api/runs` stays an array for the CLI).
 */
export interface RunsPageJson {
  runs: RunJson[];
  /** Cursor for the next (older) page; null at the end. */
  next: string | null;
}

export interface TaskRunJson {
  run_id: string;
  task_id: string;
  step: string;
  state: TaskStateName;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
  outputs: Record<string, unknown> | null;
  cache_key: string | null;
}

/** `GET /api/runs/{id}`. */
export interface RunDetailJson extends RunJson {
  tasks: TaskRunJson[];
}

/** `GET /api/runs/{id}/transitions`: the run's own (task_id null) and its tasks' state changes. */
export interface TransitionJson {
  run_id: string;
  task_id: string | null;
  ts: string;
  seq: number;
  state: string;
  attempt: number;
  message: string | null;
}

/** `GET /api/runs/{id}/logs?after_ts&after_seq&limit`. */
export interface LogJson {
  run_id: string;
  task_id: string | null;
  ts: string;
  seq: number;
  level: "debug" | "info" | "warn" | "error";
  message: string;
}

/**
 * `GET /api/runs/{id}/graph`: the pipeline's tasks and their `needs`, from the run's pipeline
 * file as it is now (`available: false` with a reason when the file is gone or no longer parses).
 * A `for_each` task is one node; its instances are the task runs whose id starts `task[`.
 */
export interface RunGraphJson {
  available: boolean;
  reason: string | null;
  nodes: { id: string; step: string; needs: string[]; for_each: boolean }[];
}

/**
 * `GET /api/runs/{id}/notifications`: the messages the deployments file's rules sent about the run
 * (SPEC section 11), one per event and channel, and how their delivery went. Errors are masked.
 */
export interface RunNotificationJson {
  event: string;
  channel: string;
  attempts: number;
  created_at: string;
  /** When the next attempt is due (while neither delivered nor failed). */
  next_attempt_at: string;
  delivered_at: string | null;
  /** Given up (a 4xx other than 429, or attempts spent). */
  failed_at: string | null;
  last_error: string | null;
}

/** A parameter declaration of a pipeline (what `Run now`'s form is made from). */
export interface ParameterDeclarationJson {
  type: "string" | "integer" | "number" | "boolean" | "date" | "array" | "object";
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: { type: string; enum?: unknown[]; pattern?: string; minimum?: number; maximum?: number };
}

/** `GET /api/deployments` rows. */
export interface DeploymentJson {
  name: string;
  pipeline: string;
  pipeline_file: string;
  parameters: Record<string, unknown>;
  work_pool: string | null;
  work_queue: string | null;
  concurrency_limit: number | null;
  collision_strategy: string;
  missed_runs: string;
  tags: string[];
  paused: boolean;
  next_run: string | null;
}

/** `GET /api/deployments/{name}`: one deployment with what its page shows. */
export interface DeploymentDetailJson extends DeploymentJson {
  /** The schedules in words with their next fires, as `tickflow schedule explain` says them. */
  schedules: {
    index: number;
    id: string;
    /** `cron "30 17 * * 1-5"`, `interval 1h`, `rrule "..."`. */
    trigger: string;
    /** In words: "at 17:30 on Monday to Friday, America/New_York, XNYS sessions only". */
    description: string;
    timezone: string;
    calendar: string | null;
    active: boolean;
    paused: boolean;
    fires: { at: string; local: string; notes: string[] }[];
    skipped: { at: string; local: string; reason: string }[];
  }[];
  /** The pipeline's parameter declarations (empty when its file cannot be read: see `pipeline_error`). */
  parameter_declarations: Record<string, ParameterDeclarationJson>;
  pipeline_error: string | null;
  /** The 20 newest runs that started or are due. */
  recent_runs: RunJson[];
}

/** `GET /api/work-pools` rows, with the runs waiting in claim order (at most 50 per pool). */
export interface WorkPoolJson {
  name: string;
  concurrency_limit: number | null;
  paused: boolean;
  slots_in_use: number;
  queued: number;
  queues: {
    name: string;
    priority: number;
    concurrency_limit: number | null;
    slots_in_use: number;
    queued: number;
  }[];
  /** `GET /api/work-pools/{name}/queued` (not in the list): runs due and waiting, in claim order. */
  queued_runs?: RunJson[];
}

/** One source's data freshness: the latest session loaded against the latest XNYS session due. */
export interface FreshnessJson {
  source: string;
  latest_loaded: string | null;
  /** The latest XNYS session whose close has passed (in New York). */
  latest_due: string;
  /** Sessions between them (0: fresh). */
  sessions_behind: number;
  symbols: number;
  /**
   * Under a `freshness:` rule of the deployments file (SPEC section 11): seconds since the rule's
   * deadline for the session due, while its bars are missing; 0 when they are in; null without a
   * rule for this source. The same number as `tickflow_data_freshness_seconds{source}`.
   */
  overdue_seconds: number | null;
}

/** `GET /api/overview`. */
export interface OverviewJson {
  now: string;
  /** Whether state-changing buttons work (false under `tickflow ui`, which is read-only). */
  writable: boolean;
  /** Runs that started or were due in the last 24 h, counted by state. */
  runs_24h: Partial<Record<RunStateName, number>>;
  /** Failed, Crashed and Late runs of the last 24 h, newest first (at most 20). */
  attention: RunJson[];
  /** The next Scheduled runs, soonest first (at most 10). */
  next_runs: RunJson[];
  freshness: FreshnessJson[];
  /** Findings of the latest validation run, counted by source, check and severity. */
  quality: {
    run_id: string | null;
    findings: { source: string; check_name: string; severity: string; count: number }[];
  };
  pools: WorkPoolJson[];
}

/** `GET /api/data/symbols?q&source&limit`: symbols whose name starts with (or contains) `q`, at most `limit` (50). */
export interface SymbolJson {
  source: string;
  symbol: string;
  first_date: string;
  last_date: string;
  sessions: number;
}

/**
 * `GET /api/data/{source}/{symbol}/bars?from&to&indicators=a,b`: the symbol's bars as columns
 * (one array per field, same length, dates ascending) with the named indicator series aligned on
 * the same dates (null where an indicator has no value). Without from/to: the whole history.
 */
export interface BarsJson {
  source: string;
  symbol: string;
  date: string[];
  open: (number | null)[];
  high: (number | null)[];
  low: (number | null)[];
  close: (number | null)[];
  volume: (number | null)[];
  indicators: Record<string, (number | null)[]>;
  /** Every indicator name computed for this symbol (what the chart can offer). */
  available_indicators: string[];
}

/** `GET /api/data/{source}/{symbol}/events`: markers for the chart and the symbol's quality results. */
export interface SymbolEventsJson {
  corporate_actions: { date: string; kind: "split" | "dividend"; value: number | null }[];
  /** Quality findings about this symbol (newest run's first, at most 1,000). */
  quality: {
    run_id: string | null;
    date: string | null;
    check_name: string;
    severity: string;
    message: string | null;
  }[];
}

/**
 * `GET /api/coverage?source&from&to&offset&limit`: a symbols x days grid. `days` are the weekdays
 * from `from` to `to` (at most 400); a weekday that is not an XNYS session is a holiday (its name).
 * Each symbol's `cells` has one letter per day: `L` loaded, `M` missing session, `Q` loaded with a
 * quality error, `H` holiday, `-` before the symbol's first bar or after its last.
 * Symbols in name order, `limit` (default 500, at most 1,000) from `offset`; `total` of them all.
 */
export interface CoverageJson {
  source: string;
  from: string;
  to: string;
  days: { date: string; holiday: string | null }[];
  symbols: { symbol: string; cells: string }[];
  total: number;
  offset: number;
  sources: string[];
}

/** `GET /api/health` (the daemon's; `tickflow ui` answers `{status: "read-only", ...}`). */
export interface HealthJson {
  status: string;
  [key: string]: unknown;
}
