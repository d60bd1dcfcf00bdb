/**
 * Test fixtures: the control plane and the console's views over a real database of either backend,
 * with the few writes tests need to set the scene. DuckDB's go through its real writers; on
 * PostgreSQL, what has no writer there yet (deployment registration, the recorder, the
 * notification rules) is written with plain SQL into the same tables.
 */
import type { DeploymentRecord, WorkPoolRecord } from "../daemon/deploy.js";
import type { NewRun } from "../store/create-runs.js";
import { createRuns, RunRecorder, registerNotify, transitionRuns } from "../store/index.js";
import type { NotifyRecords } from "../store/notify-config.js";
import type { Store } from "../store/open.js";
import {
  createRunsPg,
  migratePg,
  openPgPool,
  type PgStore,
  pgQuery,
  transitionRunsPg,
} from "../store/pg/index.js";
import type { RunSelector, RunTransition } from "../store/run-transitions.js";
import type { TaskRunRow } from "../store/runs.js";
import { tempDir, tempStore } from "../store/testing.js";
import type { ConsoleViews } from "./console-views.js";
import type { ControlPlane } from "./control-plane.js";
import { LocalControlPlane, type LocalOptions } from "./local.js";
import { LocalConsoleViews } from "./local-views.js";
import { PgControlPlane } from "./pg.js";
import { PgConsoleViews } from "./pg-views.js";

/** A task's states and log lines as a run records them. */
export interface RecordedTask {
  row: Omit<TaskRunRow, "state">;
  /** Each state with its instant, in order. */
  states: { state: TaskRunRow["state"]; at: Date; ended_at?: Date; outputs?: Record<string, unknown> }[];
  logs: { message: string; ts: Date }[];
}

export interface BackendFixture {
  readonly name: "duckdb" | "postgresql";
  /** A temporary folder of the test's (pipeline files), removed at `close`. */
  readonly dir: string;
  control(options?: Omit<LocalOptions, "db">): ControlPlane;
  views(options?: { now?: () => Date }): ConsoleViews;
  /** One statement of SQL both backends speak (values inline: `quote` them). */
  exec(sql: string): Promise<void>;
  /** Rows of a query, values as the backend's driver gives them. */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  createRuns(runs: readonly NewRun[], at: Date, message: string): Promise<void>;
  transitionRuns(select: RunSelector, t: RunTransition): Promise<string[]>;
  /** Registers deployments and pools (DuckDB: `deploy`; PostgreSQL: their rows). */
  deploy(deployments: DeploymentRecord[], pools: WorkPoolRecord[]): Promise<void>;
  /** A task's states and log lines (DuckDB: the recorder; PostgreSQL: their rows). */
  record(runId: string, task: RecordedTask): Promise<void>;
  /** Adds indicator value columns and a series for (source, symbol) of bars_daily. */
  addIndicators(names: readonly string[], source: string, symbol: string): Promise<void>;
  /** Replaces the freshness rules. */
  setFreshness(rules: NotifyRecords["freshness"]): Promise<void>;
  close(): Promise<void>;
}

/** A SQL string literal. */
export function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A fresh DuckDB file in a temporary folder. */
export async function duckFixture(): Promise<BackendFixture & { store: Store }> {
  const { store, dir, cleanup } = await tempStore();
  return {
    name: "duckdb",
    store,
    dir,
    control: (options = {}) => new LocalControlPlane(store, options),
    views: (options = {}) => new LocalConsoleViews(store, options),
    exec: async (sql) => {
      await store.db.run(sql);
    },
    rows: async (sql) => (await store.db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
    createRuns: async (runs, at, message) => {
      await createRuns(store.db, runs, at, message);
    },
    transitionRuns: (select, t) => transitionRuns(store.db, select, t),
    deploy: async (deployments, pools) => {
      await new LocalControlPlane(store).deploy({ deployments, pools });
    },
    record: async (runId, task) => {
      const recorder = new RunRecorder(store.db, runId);
      const [first, ...rest] = task.states;
      recorder.task({ ...task.row, state: first!.state }, first!.at);
      for (const line of task.logs) recorder.log(task.row.task_id, "info", line.message, line.ts);
      for (const s of rest) {
        recorder.task(
          { ...task.row, state: s.state, ended_at: s.ended_at ?? null, outputs: s.outputs ?? null },
          s.at,
        );
      }
      await recorder.close();
    },
    addIndicators: async (names, source, symbol) => {
      const { ensureIndicatorColumns, ensureSeries } = await import("../store/indicators.js");
      await ensureIndicatorColumns(store.db, names);
      await ensureSeries(store.db, source, `AND symbol = ${quote(symbol)}`);
    },
    setFreshness: async (freshness) => {
      await registerNotify(store.db, { channels: [], rules: [], freshness });
    },
    close: cleanup,
  };
}

/** A PostgreSQL database at `url` (migrated; a test's own, or emptied by the caller). */
export async function pgFixture(url: string): Promise<BackendFixture & { store: PgStore }> {
  const store = await openPgPool(url, { env: {} });
  await migratePg(store.pool);
  const { dir, cleanup } = tempDir();
  const db = store.pool;
  const exec = async (sql: string, values: unknown[] = []) => {
    await pgQuery(db, sql, values);
  };
  return {
    name: "postgresql",
    store,
    dir,
    control: (options = {}) => new PgControlPlane(store, options),
    views: (options = {}) => new PgConsoleViews(store, options),
    exec: (sql) => exec(sql),
    rows: async (sql) => (await pgQuery(db, sql)).rows,
    createRuns: async (runs, at, message) => {
      await createRunsPg(db, runs, at, message);
    },
    transitionRuns: (select, t) => transitionRunsPg(db, select, t),
    deploy: async (deployments, pools) => {
      const now = new Date();
      for (const d of deployments) {
        await exec(
          `INSERT INTO deployments (name, pipeline, pipeline_file, parameters, work_pool, work_queue,
             concurrency_limit, collision_strategy, missed_runs, tags, paused, definition, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            d.name,
            d.pipeline,
            d.pipelineFile,
            JSON.stringify(d.parameters),
            d.workPool,
            d.workQueue,
            d.concurrencyLimit,
            d.collisionStrategy,
            d.missedRuns,
            JSON.stringify(d.tags),
            d.paused,
            JSON.stringify(d),
            now,
          ],
        );
        for (const s of d.schedules) {
          await exec(
            `INSERT INTO schedules (deployment, id, position, definition, active, paused)
             VALUES ($1, $2, $3, $4, $5, false)`,
            [d.name, s.id, s.position, JSON.stringify(s.definition), s.active],
          );
        }
      }
      for (const p of pools) {
        await exec(
          `INSERT INTO work_pools (name, concurrency_limit, paused, job_defaults, definition)
           VALUES ($1, $2, $3, $4, $5)`,
          [p.name, p.concurrencyLimit, p.paused, JSON.stringify(p.jobDefaults), JSON.stringify(p)],
        );
        for (const q of p.queues) {
          await exec(
            "INSERT INTO work_queues (pool, name, priority, concurrency_limit) VALUES ($1, $2, $3, $4)",
            [p.name, q.name, q.priority, q.concurrencyLimit],
          );
        }
      }
    },
    record: async (runId, task) => {
      let seq = 0;
      for (const s of task.states) {
        await exec(
          `INSERT INTO task_runs (run_id, task_id, step, state, attempts, started_at, ended_at, error, outputs, cache_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, NULL)
           ON CONFLICT (run_id, task_id) DO UPDATE SET state = EXCLUDED.state, ended_at = EXCLUDED.ended_at,
             outputs = EXCLUDED.outputs`,
          [
            runId,
            task.row.task_id,
            task.row.step,
            s.state,
            task.row.attempts,
            task.row.started_at,
            s.ended_at ?? null,
            s.outputs === undefined ? null : JSON.stringify(s.outputs),
          ],
        );
        await exec(
          "INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt) VALUES ($1, $2, $3, $4, $5, $6)",
          [runId, task.row.task_id, s.at, seq++, s.state, task.row.attempts],
        );
      }
      for (const line of task.logs) {
        await exec(
          "INSERT INTO run_logs (run_id, task_id, ts, seq, level, message) VALUES ($1, $2, $3, $4, 'info', $5)",
          [runId, task.row.task_id, line.ts, seq++, line.message],
        );
      }
    },
    addIndicators: async (names, source, symbol) => {
      for (const name of names) {
        await exec(`ALTER TABLE indicator_values ADD COLUMN IF NOT EXISTS "${name}" double precision`);
      }
      await exec(
        `INSERT INTO indicator_series (id, source, symbol)
         VALUES ((SELECT coalesce(max(id), 0) + 1 FROM indicator_series), $1, $2) ON CONFLICT DO NOTHING`,
        [source, symbol],
      );
    },
    setFreshness: async (freshness) => {
      await exec("DELETE FROM notify_freshness");
      for (const [position, rule] of freshness.entries()) {
        await exec("INSERT INTO notify_freshness (position, definition) VALUES ($1, $2)", [
          position,
          JSON.stringify(rule),
        ]);
      }
    },
    close: async () => {
      await store.close();
      cleanup();
    },
  };
}
