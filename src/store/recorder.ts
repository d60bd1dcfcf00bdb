import {
  BIGINT,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBValue,
  INTEGER,
  TIMESTAMPTZ,
  VARCHAR,
} from "@duckdb/node-api";
import { type AppendColumn, appendChunks, appendColumns, ChunkBuffer, columnsToChunks } from "./append.js";
import { FlushLoop } from "./flush-loop.js";
import { type Store, storeOfMainConnection } from "./open.js";
import type { TaskRunRow } from "./runs.js";
import { isFinalTaskState } from "./states.js";
import { TaskMoves } from "./task-moves.js";
import { timestampTZ } from "./values.js";

/** `state_transitions`, in table order: run_id, task_id, ts, seq, state, attempt, message. */
const TRANSITION_TYPES = [VARCHAR, VARCHAR, TIMESTAMPTZ, BIGINT, VARCHAR, INTEGER, VARCHAR];
/** `run_logs`, in table order: run_id, task_id, ts, seq, level, message. */
const LOG_TYPES = [VARCHAR, VARCHAR, TIMESTAMPTZ, BIGINT, VARCHAR, VARCHAR];
/** `task_runs` (and its staging table), in table order. */
const TASK_TYPES = [
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  INTEGER,
  TIMESTAMPTZ,
  TIMESTAMPTZ,
  VARCHAR,
  VARCHAR,
  VARCHAR,
];
const TASK_COLUMNS =
  "run_id, task_id, step, state, attempts, started_at, ended_at, error, outputs, cache_key";

let stagingCounter = 0;

/**
 * Batches what the engine records while a run executes (task states, state transitions, log
 * lines) and writes it in bulk, so that persistence does not dominate small tasks:
 *
 * - transitions and log lines are converted to DuckDB data chunks 2048 rows at a time as they are
 *   recorded, and appended with DuckDB's appender at each flush;
 * - task states keep only the latest per task_id; at a flush, tasks this recorder has never
 *   written go straight into `task_runs` through an appender, and tasks written before are
 *   upserted: appended to a TEMP staging table, then one `INSERT OR REPLACE INTO task_runs SELECT`.
 *
 * No row-by-row INSERT. Flushes never overlap. The recorder writes on a connection of its own
 * (`RunRecorder.open(store, runId)`, or given `store.db` it opens one), each flush in one
 * transaction (all or nothing, one commit). Only on a connection given explicitly and not marked
 * `dedicated` does each table write commit on its own.
 */
export class RunRecorder {
  /** Latest states not written yet, of tasks still running or written before. */
  private tasks = new Map<string, TaskRunRow>();
  /** Task ids this recorder has written to `task_runs` (their next state needs an upsert). */
  private readonly written = new Set<string>();
  /**
   * Tasks first recorded in a final state: converted to chunks as they come, like transitions,
   * and appended at the next flush (with their rows, in case they must be upserted after all).
   */
  private finished = new ChunkBuffer(TASK_TYPES);
  private finishedRows: TaskRunRow[] = [];
  private readonly finishedIds = new Set<string>();
  private readonly transitions = new ChunkBuffer(TRANSITION_TYPES);
  private readonly logs = new ChunkBuffer(LOG_TYPES);
  /** The latest state of each task instance recorded, for the transition check. */
  private readonly moves: TaskMoves;
  /** Orders transitions and log lines of this recorder that share a millisecond. */
  private seq = 0n;
  private readonly staging = `task_runs_staging_${process.pid}_${++stagingCounter}`;
  private stagingCreated = false;
  /** The staging table may hold rows of a failed upsert: empty it before the next. */
  private stagingDirty = false;
  /** Whether `written` has learnt what task_runs held for this run before this recorder. */
  private seeded = false;
  /** The connection written with (a store's main connection is swapped for one of its own). */
  private db: DuckDBConnection;
  /** The store whose main connection the recorder was given: it opens its own from it. */
  private store: Store | undefined;
  /** One transaction per flush (only on a connection nothing else uses). */
  private transactional: boolean;
  /** The connection this recorder opened, and closes (handing it back to `ownedFrom`). */
  private owned: DuckDBConnection | undefined;
  private ownedFrom: Store | undefined;
  /** Flushes one after another, on a timer, and the last at close. */
  private readonly loop = new FlushLoop(
    () => this.write(),
    () => this.isEmpty(),
  );
  private closed = false;

  /**
   * @param db the connection to write with. Given a store's main connection (`store.db`, which the
   *   steps use), the recorder opens a connection of its own from that store at its first flush:
   *   DuckDB's appender takes its connection's lock synchronously, so an appender on a connection
   *   running a step's long query would block the event loop (and the timer that would interrupt
   *   that query) until the query ends.
   * @param options.dedicated nothing else uses `db`: each flush runs in one transaction (one commit
   *   instead of several, all or nothing).
   */
  constructor(
    db: DuckDBConnection,
    readonly runId: string,
    options: { dedicated?: boolean; owned?: Store } = {},
  ) {
    this.db = db;
    this.moves = new TaskMoves(runId);
    this.transactional = options.dedicated === true;
    this.owned = options.owned === undefined ? undefined : db;
    this.ownedFrom = options.owned;
    this.store = options.dedicated === true ? undefined : storeOfMainConnection(db);
  }

  /** A recorder on a new connection of its own (closed by `close()`), flushing in transactions. */
  static async open(store: Store, runId: string): Promise<RunRecorder> {
    return new RunRecorder(await store.connect(), runId, { dedicated: true, owned: store });
  }

  /**
   * A task instance's new state (or its latest row in the same state): it replaces what an earlier
   * call said about the same task_id, and a change of state is kept as a transition at `at` with
   * `message`. Only changes the transition table allows are taken (a first state counts as a
   * change from Pending).
   * @throws Error for a change tasks never make (a bug in the caller).
   */
  task(row: TaskRunRow, at: Date, message?: string | null): void {
    this.assertOpen();
    const id = row.task_id;
    if (this.moves.take(row)) {
      this.transitions.add([
        this.runId,
        id,
        timestampTZ(at),
        this.seq++,
        row.state,
        row.attempts,
        message ?? null,
      ]);
    }
    // A copy: the caller may go on changing its object.
    const copy = { ...row };
    if (isFinalTaskState(row.state) && !this.written.has(id) && !this.finishedIds.has(id)) {
      this.tasks.delete(id);
      this.finished.add(taskValues(copy));
      this.finishedRows.push(copy);
      this.finishedIds.add(id);
      return;
    }
    this.tasks.set(id, copy);
  }

  /** A line of the run log, of a task (taskId) or of the run itself (null). */
  log(taskId: string | null, level: string, message: string, ts: Date): void {
    this.assertOpen();
    this.logs.add([this.runId, taskId, timestampTZ(ts), this.seq++, level, message]);
  }

  /** Rows waiting for the next flush. */
  get pending(): { tasks: number; transitions: number; logs: number } {
    return {
      tasks: this.tasks.size + this.finishedRows.length,
      transitions: this.transitions.length,
      logs: this.logs.length,
    };
  }

  /**
   * Writes everything recorded so far. A flush waits for the one before it; what is recorded while
   * it runs goes into the next. On failure, what was not written stays buffered for the next flush.
   */
  flush(): Promise<void> {
    return this.loop.flush();
  }

  /** Flushes every `intervalMs` until `stopAutoFlush` or `close` (the timer does not keep Node alive). */
  startAutoFlush(intervalMs: number): void {
    this.loop.start(intervalMs);
  }

  stopAutoFlush(): void {
    this.loop.stop();
  }

  /**
   * Stops the timer, writes what is left and drops the staging table. Throws when that last write
   * fails (with the error of a failed automatic flush, if any, as its cause); closing again retries.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.loop.finish();
    this.closed = true;
    if (this.stagingCreated) {
      this.stagingCreated = false;
      await this.db.run(`DROP TABLE IF EXISTS temp.main.${this.staging}`).catch(() => {});
    }
    try {
      // A daemon records thousands of runs: its store must not keep their connections.
      if (this.owned && this.ownedFrom) this.ownedFrom.release(this.owned);
      else this.owned?.closeSync();
    } catch {
      // closed with its store already
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the recorder of run ${this.runId} is closed`);
  }

  private isEmpty(): boolean {
    return (
      this.tasks.size === 0 &&
      this.finishedRows.length === 0 &&
      this.transitions.length === 0 &&
      this.logs.length === 0
    );
  }

  private async write(): Promise<void> {
    if (this.isEmpty()) return;
    if (this.store !== undefined) {
      this.db = await this.store.connect();
      this.owned = this.db;
      this.ownedFrom = this.store;
      this.transactional = true;
      this.store = undefined;
    }
    if (!this.seeded) {
      // Tasks of this run already in task_runs (a resumed run) are upserted, never appended.
      await this.seedWritten();
      this.seeded = true;
    }
    const transitions = this.transitions.take();
    const logs = this.logs.take();
    const finishedChunks = this.finished.take();
    const finishedRows = this.finishedRows;
    const finishedIds = new Set(finishedRows.map((row) => row.task_id));
    const tasks = this.tasks;
    this.finishedRows = [];
    this.tasks = new Map();
    // Tasks written before (by this recorder, or found in task_runs) are upserted; a later state
    // recorded for a task replaces the earlier one.
    const upserts = new Map<string, TaskRunRow>();
    let appendRows = finishedRows;
    let appendChunksReady = finishedChunks;
    if (finishedRows.some((row) => this.written.has(row.task_id))) {
      // Only on the first flush of a resumed run: the ready chunks hold rows that exist already.
      appendRows = finishedRows.filter((row) => !this.written.has(row.task_id));
      appendChunksReady = columnsToChunks(taskColumns(appendRows));
      for (const row of finishedRows) if (this.written.has(row.task_id)) upserts.set(row.task_id, row);
    }
    const fresh: TaskRunRow[] = [];
    for (const row of tasks.values()) {
      if (this.written.has(row.task_id) || finishedIds.has(row.task_id)) upserts.set(row.task_id, row);
      else fresh.push(row);
    }
    const known = [...upserts.values()];
    const appended = [...appendRows, ...fresh];
    // Marked written before the write: a state recorded meanwhile for one of them is an upsert.
    for (const row of appended) this.written.add(row.task_id);

    const tx = this.transactional;
    // What is durably written (without a transaction, each table write commits on its own).
    const done = { transitions: false, logs: false, appended: false, known: false };
    try {
      if (known.length > 0) await this.createStaging();
      if (tx) await this.db.run("BEGIN TRANSACTION");
      await appendChunks(this.db, "state_transitions", transitions);
      done.transitions = !tx;
      await appendChunks(this.db, "run_logs", logs);
      done.logs = !tx;
      if (appended.length > 0) {
        // New rows cannot conflict: a plain append into task_runs, no upsert needed.
        await appendChunks(this.db, "task_runs", [
          ...appendChunksReady,
          ...columnsToChunks(taskColumns(fresh)),
        ]);
      }
      done.appended = !tx;
      if (known.length > 0) await this.upsertTasks(known);
      done.known = !tx;
      if (tx) await this.db.run("COMMIT");
      for (const id of finishedIds) this.finishedIds.delete(id);
    } catch (err) {
      if (tx) await this.db.run("ROLLBACK").catch(() => {});
      const conflict = isConstraintError(err);
      this.restore({
        done: tx ? {} : done,
        transitions,
        logs,
        finishedChunks,
        finishedRows,
        appended,
        fresh,
        known,
        conflict,
      });
      // A row exists that this recorder did not write: learn which, so that the retry upserts them.
      if (conflict) await this.seedWritten().catch(() => {});
      throw err;
    }
  }

  /** Puts back what a failed flush did not write, unless a newer state was recorded meanwhile. */
  private restore(failed: {
    done: Partial<Record<"transitions" | "logs" | "appended" | "known", boolean>>;
    transitions: DuckDBDataChunk[];
    logs: DuckDBDataChunk[];
    finishedChunks: DuckDBDataChunk[];
    finishedRows: TaskRunRow[];
    /** The rows this flush meant to append (marked written before it). */
    appended: TaskRunRow[];
    fresh: TaskRunRow[];
    known: TaskRunRow[];
    conflict: boolean;
  }): void {
    const { done } = failed;
    if (!done.transitions) this.transitions.restore(failed.transitions);
    if (!done.logs) this.logs.restore(failed.logs);
    const taken = new Set(failed.finishedRows.map((row) => row.task_id));
    const newer = (id: string) => this.tasks.has(id) || (this.finishedIds.has(id) && !taken.has(id));
    const putBack = (row: TaskRunRow) => {
      if (!newer(row.task_id)) this.tasks.set(row.task_id, row);
    };
    if (!done.appended) {
      for (const row of failed.appended) this.written.delete(row.task_id);
      if (failed.conflict) {
        // Retried as rows (appended or upserted, as seedWritten decides), not as ready chunks.
        for (const row of failed.finishedRows) {
          this.finishedIds.delete(row.task_id);
          putBack(row);
        }
      } else {
        this.finished.restore(failed.finishedChunks);
        this.finishedRows = [...failed.finishedRows, ...this.finishedRows];
      }
      for (const row of failed.fresh) putBack(row);
    }
    if (!done.known) for (const row of failed.known) putBack(row);
    this.stagingDirty = true;
  }

  /** Adds the tasks of this run that task_runs already holds to `written`. */
  private async seedWritten(): Promise<void> {
    const reader = await this.db.runAndReadAll("SELECT task_id FROM task_runs WHERE run_id = $run_id", {
      run_id: this.runId,
    });
    for (const [taskId] of reader.getRows()) this.written.add(String(taskId));
  }

  private async createStaging(): Promise<void> {
    if (this.stagingCreated && !this.stagingDirty) return;
    if (!this.stagingCreated) {
      await this.db.run(
        `CREATE OR REPLACE TEMP TABLE ${this.staging} (run_id VARCHAR, task_id VARCHAR, step VARCHAR,
          state VARCHAR, attempts INTEGER, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, error VARCHAR,
          outputs VARCHAR, cache_key VARCHAR)`,
      );
      this.stagingCreated = true;
    } else {
      await this.db.run(`DELETE FROM temp.main.${this.staging}`);
    }
    this.stagingDirty = false;
  }

  /** Upserts through the staging table (created by `createStaging`): append, INSERT OR REPLACE, empty it. */
  private async upsertTasks(rows: TaskRunRow[]): Promise<void> {
    const table = `temp.main.${this.staging}`;
    this.stagingDirty = true;
    await appendColumns(this.db, this.staging, taskColumns(rows), { schema: "main", catalog: "temp" });
    await this.db.run(
      `INSERT OR REPLACE INTO task_runs (${TASK_COLUMNS})
       SELECT ${TASK_COLUMNS.replace("outputs", "outputs::JSON")} FROM ${table}`,
    );
    await this.db.run(`DELETE FROM ${table}`);
    this.stagingDirty = false;
  }
}

/** A write refused because the row exists (a primary key conflict). */
function isConstraintError(err: unknown): boolean {
  return /constraint|duplicate key/i.test(err instanceof Error ? err.message : String(err));
}

/** One task row as appender values, in `task_runs` order. */
function taskValues(r: TaskRunRow): DuckDBValue[] {
  return [
    r.run_id,
    r.task_id,
    r.step,
    r.state,
    r.attempts,
    r.started_at ? timestampTZ(r.started_at) : null,
    r.ended_at ? timestampTZ(r.ended_at) : null,
    r.error ?? null,
    outputsJson(r.outputs),
    r.cache_key ?? null,
  ];
}

/** Task rows as appender columns, in `task_runs` order. */
function taskColumns(rows: readonly TaskRunRow[]): AppendColumn[] {
  const columns = TASK_TYPES.map(() => new Array<DuckDBValue>(rows.length));
  rows.forEach((row, i) => {
    taskValues(row).forEach((value, c) => {
      columns[c]![i] = value;
    });
  });
  return TASK_TYPES.map((type, c) => ({ type, values: columns[c]! }));
}

/** Outputs as JSON text; BigInts become numbers (or strings beyond 2^53); never throws. */
export function outputsJson(outputs: Record<string, unknown> | null | undefined): string | null {
  if (outputs === null || outputs === undefined) return null;
  try {
    return JSON.stringify(outputs, (_key, value: unknown) =>
      typeof value === "bigint"
        ? Number.isSafeInteger(Number(value))
          ? Number(value)
          : value.toString()
        : value,
    );
  } catch (err) {
    return JSON.stringify({ unserializable: err instanceof Error ? err.message : String(err) });
  }
}
