/**
 * The run history of either backend behind one shape, for tests that run the same assertions on
 * DuckDB and on PostgreSQL: the recorder, the reads, run creation and plain SQL (`$1`-style
 * parameters work on both).
 */
import type { DuckDBValue } from "@duckdb/node-api";
import { createRuns, type NewRun } from "./create-runs.js";
import type { Store } from "./open.js";
import {
  createRunsPg,
  findCachedTaskPg,
  findCachedTasksPg,
  findRunPg,
  listRunsPg,
  logsOfPg,
  type PgStore,
  RunRecorderPg,
  runsPagePg,
  taskRunsOfPg,
  transitionsOfPg,
} from "./pg/index.js";
import { RunRecorder } from "./recorder.js";
import type { RunRecording } from "./run-records.js";
import {
  type CachedTask,
  findCachedTask,
  findCachedTasks,
  findRun,
  type ListRunsOptions,
  type LogRow,
  type LogsOptions,
  listRuns,
  logsOf,
  type RunRow,
  type RunsPage,
  runsPage,
  type TaskRunRow,
  type TransitionRow,
  taskRunsOf,
  transitionsOf,
} from "./runs.js";

export type TestRecorder = RunRecording & {
  readonly pending: { tasks: number; transitions: number; logs: number };
};

export interface HistoryBackend {
  backend: "duckdb" | "postgresql";
  recorder(runId: string): Promise<TestRecorder>;
  /** A statement's first column of its first row, as a number (a count). */
  count(sql: string): Promise<number>;
  exec(sql: string, values?: unknown[]): Promise<void>;
  /**
   * A statement's rows as objects. Text, booleans, NULLs and `::INTEGER` counts compare alike on both
   * backends (timestamps come as Dates on both; a bare count(*) does not: cast it).
   */
  rows(sql: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  createRuns(runs: readonly NewRun[], at: Date, message: string): Promise<string[]>;
  findRun(idOrPrefix: string): Promise<RunRow | undefined>;
  listRuns(options?: ListRunsOptions): Promise<RunRow[]>;
  runsPage(options: ListRunsOptions): Promise<RunsPage>;
  taskRunsOf(runId: string): Promise<TaskRunRow[]>;
  logsOf(runId: string, options?: LogsOptions): Promise<LogRow[]>;
  transitionsOf(runId: string): Promise<TransitionRow[]>;
  findCachedTask(key: string, notBefore: Date | undefined): Promise<CachedTask | undefined>;
  findCachedTasks(keys: readonly string[], notBefore: Date | undefined): Promise<Map<string, CachedTask>>;
}

/** DuckDB's: recorders made by `recorderFor` (default: given `store.db`, as the engine does). */
export function duckHistory(
  store: Store,
  recorderFor: (runId: string) => Promise<TestRecorder> = async (runId) => new RunRecorder(store.db, runId),
): HistoryBackend {
  const db = store.db;
  return {
    backend: "duckdb",
    recorder: recorderFor,
    count: async (sql) => Number((await db.runAndReadAll(sql)).getRows()[0]?.[0]),
    exec: async (sql, values) => {
      await db.run(sql, values as DuckDBValue[] | undefined);
    },
    rows: async (sql, values) =>
      (await db.runAndReadAll(sql, values as DuckDBValue[] | undefined)).getRowObjectsJS() as Record<
        string,
        unknown
      >[],
    createRuns: (runs, at, message) => createRuns(db, runs, at, message),
    findRun: (id) => findRun(db, id),
    listRuns: (options) => listRuns(db, options),
    runsPage: (options) => runsPage(db, options),
    taskRunsOf: (runId) => taskRunsOf(db, runId),
    logsOf: (runId, options) => logsOf(db, runId, options),
    transitionsOf: (runId) => transitionsOf(db, runId),
    findCachedTask: (key, notBefore) => findCachedTask(db, key, notBefore),
    findCachedTasks: (keys, notBefore) => findCachedTasks(db, keys, notBefore),
  };
}

/** PostgreSQL's, on the store's pool. */
export function pgHistory(store: PgStore): HistoryBackend {
  const db = store.pool;
  return {
    backend: "postgresql",
    recorder: async (runId) => new RunRecorderPg(db, runId),
    count: async (sql) => Number(Object.values((await db.query(sql)).rows[0] ?? {})[0]),
    exec: async (sql, values) => {
      await db.query(sql, values);
    },
    rows: async (sql, values) => (await db.query(sql, values)).rows,
    createRuns: (runs, at, message) => createRunsPg(db, runs, at, message),
    findRun: (id) => findRunPg(db, id),
    listRuns: (options) => listRunsPg(db, options),
    runsPage: (options) => runsPagePg(db, options),
    taskRunsOf: (runId) => taskRunsOfPg(db, runId),
    logsOf: (runId, options) => logsOfPg(db, runId, options),
    transitionsOf: (runId) => transitionsOfPg(db, runId),
    findCachedTask: (key, notBefore) => findCachedTaskPg(db, key, notBefore),
    findCachedTasks: (keys, notBefore) => findCachedTasksPg(db, keys, notBefore),
  };
}
