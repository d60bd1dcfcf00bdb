/**
 * The control plane: every verb that reads or changes state, behind one interface with two
 * implementations, chosen once per command (`choose.ts`): `LocalControlPlane` over the database,
 * and `HttpControlPlane` over a daemon's API (which serves a `LocalControlPlane` of its own). The
 * CLI and the API speak only this, so a verb prints the same either way.
 */
import type { BackfillResult } from "../daemon/backfill.js";
import type { DeployChange, DeploymentRecord, WorkPoolRecord } from "../daemon/deploy.js";
import type {
  DeploymentRow,
  JsonValue,
  LogRow,
  RunRow,
  RunState,
  TaskRunRow,
  TransitionRow,
  WorkPoolRow,
  WorkQueueRow,
} from "../store/index.js";
import type { NotifyRecords } from "../store/notify-config.js";

export type { BackfillResult, DeployChange, DeploymentRecord, WorkPoolRecord };

/** A refusal with the HTTP status that says why: 400 bad input, 404 not found, 409 wrong state. */
export class ControlError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 503,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

export interface RunFilter {
  /** At most this many (default 20). */
  limit?: number;
  state?: RunState;
  pipeline?: string;
  deployment?: string;
  /** Only runs that started, or else were due, at or after this. */
  since?: Date;
  /**
   * Only Scheduled runs not due yet, soonest first. Otherwise the runs that started or are due,
   * newest first: what the scheduler made ahead would hide what ran.
   */
  upcoming?: boolean;
}

/** A run with its task instances. */
export interface RunDetail extends RunRow {
  tasks: TaskRunRow[];
}

/** Where a log follower stopped: the last line it saw. */
export interface LogCursor {
  ts: Date;
  seq: number;
}

export type { DeploymentRow, WorkPoolRow, WorkQueueRow };

/** Parameters of a run on demand: typed values (JSON), and `name=value` text from the command line. */
export interface RunRequest {
  parameters?: Record<string, unknown>;
  /** Converted to each parameter's declared type (`-p days_back=5` gives the integer 5). */
  parameters_text?: Record<string, string>;
}

export interface QueryColumn {
  name: string;
  type: string;
}

export interface QueryResult {
  columns: QueryColumn[];
  /** One object per row, values as JSON (timestamps ISO 8601 UTC, integers numbers). */
  rows: Record<string, JsonValue>[];
  /** More rows than `limit` existed; only `limit` are here. */
  truncated: boolean;
  /** The row cap; 0: none (only `queryChunks` over the database). */
  limit: number;
}

/** Rows `query` returns when the caller does not say. */
export const DEFAULT_QUERY_ROWS = 10_000;
/** Most rows `query` (and so the API) returns: its answer is one JSON document in memory. */
export const MAX_QUERY_ROWS = 100_000;

export interface ControlPlane {
  /** What answers: the database file, or the daemon's API. */
  readonly target: { kind: "database"; path: string } | { kind: "daemon"; url: string };

  listRuns(filter?: RunFilter): Promise<RunRow[]>;
  /** A run by id or unique id prefix (404 when none, 400 when the prefix is ambiguous). */
  getRun(idOrPrefix: string): Promise<RunDetail>;
  /** The run's own state changes and its tasks', in time order. */
  runTransitions(idOrPrefix: string): Promise<TransitionRow[]>;
  /** Log lines in time order, after `after` when given (a follower's cursor). */
  runLogs(idOrPrefix: string, options?: { after?: LogCursor; limit?: number }): Promise<LogRow[]>;
  /** Cancels a waiting run at once, a running one through its process (Cancelling). 409 when it ended. */
  cancelRun(idOrPrefix: string): Promise<{ id: string; state: RunState }>;
  /** A new run of an ended run's deployment (or pipeline) with its parameters and date, queued now. */
  retryRun(idOrPrefix: string): Promise<{ id: string; retry_of: string }>;

  listDeployments(): Promise<DeploymentRow[]>;
  /** A run of the deployment now; parameters are checked against the pipeline's declarations (400). */
  runDeployment(name: string, request?: RunRequest): Promise<{ id: string }>;
  setDeploymentPaused(name: string, paused: boolean): Promise<{ name: string; paused: boolean }>;
  backfill(name: string, range: { from: string; to: string; missing: boolean }): Promise<BackfillResult>;
  /** Registers deployments and work pools (`tickflow deploy`); says what changed. */
  deploy(registration: {
    deployments: DeploymentRecord[];
    pools: WorkPoolRecord[];
    /** Channels, notification and freshness rules (absent: keep what is registered). */
    notify?: NotifyRecords;
  }): Promise<DeployChange[]>;

  listWorkPools(): Promise<WorkPoolRow[]>;
  setWorkPoolPaused(name: string, paused: boolean): Promise<{ name: string; paused: boolean }>;

  /** One read-only SQL statement; at most `limit` rows (default 10,000), under a statement timeout. */
  query(sql: string, options?: { limit?: number }): Promise<QueryResult>;
  /**
   * The same, a chunk of rows at a time for printing as they come (`tickflow query`); every chunk
   * carries the columns, the last says whether rows were left out. Over the database `limit` may
   * be any number, 0 for every row; over the API it is `query`'s, answered as one chunk.
   */
  queryChunks(sql: string, options?: { limit?: number }): AsyncIterable<QueryResult>;

  close(): Promise<void>;
}
