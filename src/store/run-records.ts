/**
 * A run's records on either backend, as the engine writes them while it executes a run: the run
 * row's creation and transitions (through the state owner of each backend), the cache lookups, and
 * the recorder of task states, transitions and log lines.
 */
import { type AnyStore, isPgStore } from "./backend.js";
import { createRuns, type NewRun } from "./create-runs.js";
import {
  createRunsPg,
  findCachedTaskPg,
  findRunByIdPg,
  RunRecorderPg,
  transitionRunsPg,
} from "./pg/index.js";
import { RunRecorder } from "./recorder.js";
import { type RunSelector, type RunTransition, transitionRuns } from "./run-transitions.js";
import { type CachedTask, findCachedTask, findRun, type RunRow, type TaskRunRow } from "./runs.js";

/** What the engine records as a run goes: `RunRecorder` (DuckDB) and `RunRecorderPg`. */
export interface RunRecording {
  task(row: TaskRunRow, at: Date, message?: string | null): void;
  log(taskId: string | null, level: string, message: string, ts: Date): void;
  startAutoFlush(intervalMs: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface RunRecords {
  createRuns(runs: readonly NewRun[], at: Date, message: string): Promise<void>;
  transitionRuns(select: RunSelector, t: RunTransition): Promise<string[]>;
  /** The run with exactly this id. */
  findRun(id: string): Promise<RunRow | undefined>;
  findCachedTask(key: string, notBefore: Date | undefined): Promise<CachedTask | undefined>;
  /** A recorder writing on a connection of its own. */
  recorder(runId: string): RunRecording;
}

export function runRecordsOf(store: AnyStore): RunRecords {
  if (isPgStore(store)) {
    const pool = store.pool;
    return {
      createRuns: async (runs, at, message) => {
        await createRunsPg(pool, runs, at, message);
      },
      transitionRuns: (select, t) => transitionRunsPg(pool, select, t),
      findRun: (id) => findRunByIdPg(pool, id),
      findCachedTask: (key, notBefore) => findCachedTaskPg(pool, key, notBefore),
      recorder: (runId) => new RunRecorderPg(pool, runId),
    };
  }
  const db = store.db;
  return {
    createRuns: async (runs, at, message) => {
      await createRuns(db, runs, at, message);
    },
    transitionRuns: (select, t) => transitionRuns(db, select, t),
    findRun: (id) => findRun(db, id),
    findCachedTask: (key, notBefore) => findCachedTask(db, key, notBefore),
    // Given the main connection, it opens one of its own at its first flush.
    recorder: (runId) => new RunRecorder(db, runId),
  };
}
