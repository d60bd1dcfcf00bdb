/**
 * `RunRecorder`'s twin on PostgreSQL: batches what the engine records while a run executes (task
 * states, state transitions, log lines) and writes it in bulk, each flush ONE transaction of at
 * most three statements, whatever the number of rows:
 *
 * - transitions and log lines: one multi-row `INSERT ... SELECT FROM unnest($n::type[], ...)` each;
 * - task states: the latest per task id, upserted with `ON CONFLICT (run_id, task_id) DO UPDATE`
 *   (so, unlike DuckDB's appender path, a row another writer added meanwhile is simply updated,
 *   and no "which tasks exist already" bookkeeping is needed).
 *
 * Shared with DuckDB's recorder: the transition check (`TaskMoves`), the flush queue, timer and
 * close (`FlushLoop`), the outputs' JSON (`outputsJson`). The buffers differ: DuckDB's turn rows
 * into appender chunks as they come; here they are one array per column, as unnest takes them.
 * Flushes never overlap; a failed flush writes nothing (one transaction) and keeps its rows for
 * the next.
 */
import { FlushLoop } from "../flush-loop.js";
import { outputsJson } from "../recorder.js";
import type { TaskRunRow } from "../runs.js";
import { TaskMoves } from "../task-moves.js";
import { pgJsonText, pgText } from "./text.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/** A transition or log line waiting for the next flush (run_id is the recorder's). */
export interface TransitionLine {
  task_id: string;
  /** ISO 8601 (what a `timestamptz[]` parameter takes, exactly, without pg's Date formatting). */
  ts: string;
  seq: number;
  state: string;
  attempt: number;
  message: string | null;
}

export interface LogLine {
  task_id: string | null;
  ts: string;
  seq: number;
  level: string;
  message: string;
}

export class RunRecorderPg {
  /** Latest states not written yet, by task id. */
  private tasks = new Map<string, TaskRunRow>();
  private transitions: TransitionLine[] = [];
  private logs: LogLine[] = [];
  private readonly moves: TaskMoves;
  /** Orders transitions and log lines of this recorder that share a millisecond. */
  private seq = 0;
  private readonly loop = new FlushLoop(
    () => this.write(),
    () => this.isEmpty(),
  );
  private closed = false;

  /** @param db the pool (each flush takes a client for its transaction) or a caller's transaction. */
  constructor(
    readonly db: PgDb,
    readonly runId: string,
  ) {
    this.moves = new TaskMoves(runId);
  }

  /**
   * A task instance's new state (or its latest row in the same state): it replaces what an earlier
   * call said about the same task_id, and a change of state is kept as a transition at `at`.
   * @throws Error for a change tasks never make (a bug in the caller).
   */
  task(row: TaskRunRow, at: Date, message?: string | null): void {
    this.assertOpen();
    if (this.moves.take(row)) {
      this.transitions.push({
        task_id: row.task_id,
        ts: at.toISOString(),
        seq: this.seq++,
        state: row.state,
        attempt: row.attempts,
        message: message ?? null,
      });
    }
    // A copy: the caller may go on changing its object.
    this.tasks.set(row.task_id, { ...row });
  }

  /** A line of the run log, of a task (taskId) or of the run itself (null). */
  log(taskId: string | null, level: string, message: string, ts: Date): void {
    this.assertOpen();
    this.logs.push({ task_id: taskId, ts: ts.toISOString(), seq: this.seq++, level, message });
  }

  /** Rows waiting for the next flush. */
  get pending(): { tasks: number; transitions: number; logs: number } {
    return { tasks: this.tasks.size, transitions: this.transitions.length, logs: this.logs.length };
  }

  /** Writes everything recorded so far, after the flushes queued before; on failure it stays buffered. */
  flush(): Promise<void> {
    return this.loop.flush();
  }

  /** Flushes every `intervalMs` until `stopAutoFlush` or `close`. */
  startAutoFlush(intervalMs: number): void {
    this.loop.start(intervalMs);
  }

  stopAutoFlush(): void {
    this.loop.stop();
  }

  /** Stops the timer and writes what is left; throws when that fails (closing again retries). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.loop.finish();
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the recorder of run ${this.runId} is closed`);
  }

  private isEmpty(): boolean {
    return this.tasks.size === 0 && this.transitions.length === 0 && this.logs.length === 0;
  }

  private async write(): Promise<void> {
    if (this.isEmpty()) return;
    const tasks = this.tasks;
    const transitions = this.transitions;
    const logs = this.logs;
    this.tasks = new Map();
    this.transitions = [];
    this.logs = [];
    try {
      await withPgTransaction(this.db, async (tx) => {
        await insertTransitionsPg(tx, this.runId, transitions);
        await insertLogsPg(tx, this.runId, logs);
        await upsertTaskRunsPg(tx, [...tasks.values()]);
      });
    } catch (err) {
      // Nothing was written: back in front of what was recorded meanwhile (a newer task state wins).
      this.transitions = [...transitions, ...this.transitions];
      this.logs = [...logs, ...this.logs];
      for (const [id, row] of this.tasks) tasks.set(id, row);
      this.tasks = tasks;
      throw err;
    }
  }
}

/** `state_transitions` rows of tasks of one run, in one statement. */
export async function insertTransitionsPg(
  db: PgDb,
  runId: string,
  lines: readonly TransitionLine[],
): Promise<void> {
  if (lines.length === 0) return;
  await pgQuery(
    db,
    `INSERT INTO state_transitions (run_id, task_id, ts, seq, state, attempt, message)
     SELECT $1, t.* FROM unnest($2::text[], $3::timestamptz[], $4::bigint[], $5::text[], $6::integer[],
       $7::text[]) AS t`,
    [
      runId,
      lines.map((l) => l.task_id),
      lines.map((l) => l.ts),
      lines.map((l) => l.seq),
      lines.map((l) => l.state),
      lines.map((l) => l.attempt),
      lines.map((l) => (l.message === null ? null : pgText(l.message))),
    ],
  );
}

/** `run_logs` rows of one run, in one statement. */
export async function insertLogsPg(db: PgDb, runId: string, lines: readonly LogLine[]): Promise<void> {
  if (lines.length === 0) return;
  await pgQuery(
    db,
    `INSERT INTO run_logs (run_id, task_id, ts, seq, level, message)
     SELECT $1, l.* FROM unnest($2::text[], $3::timestamptz[], $4::bigint[], $5::text[], $6::text[]) AS l`,
    [
      runId,
      lines.map((l) => l.task_id),
      lines.map((l) => l.ts),
      lines.map((l) => l.seq),
      lines.map((l) => l.level),
      lines.map((l) => pgText(l.message)),
    ],
  );
}

/** Task rows (one per task id) inserted, or replacing the stored row of the same (run_id, task_id). */
export async function upsertTaskRunsPg(db: PgDb, rows: readonly TaskRunRow[]): Promise<void> {
  if (rows.length === 0) return;
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  await pgQuery(
    db,
    `INSERT INTO task_runs (run_id, task_id, step, state, attempts, started_at, ended_at, error, outputs, cache_key)
     SELECT t.run_id, t.task_id, t.step, t.state, t.attempts, t.started_at, t.ended_at, t.error,
       t.outputs::jsonb, t.cache_key
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::timestamptz[],
       $7::timestamptz[], $8::text[], $9::text[], $10::text[])
       AS t(run_id, task_id, step, state, attempts, started_at, ended_at, error, outputs, cache_key)
     ON CONFLICT (run_id, task_id) DO UPDATE SET step = EXCLUDED.step, state = EXCLUDED.state,
       attempts = EXCLUDED.attempts, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
       error = EXCLUDED.error, outputs = EXCLUDED.outputs, cache_key = EXCLUDED.cache_key`,
    [
      rows.map((r) => r.run_id),
      rows.map((r) => r.task_id),
      rows.map((r) => r.step),
      rows.map((r) => r.state),
      rows.map((r) => r.attempts),
      rows.map((r) => iso(r.started_at)),
      rows.map((r) => iso(r.ended_at)),
      rows.map((r) => pgText(r.error ?? null)),
      rows.map((r) => pgJsonText(outputsJson(r.outputs))),
      rows.map((r) => r.cache_key ?? null),
    ],
  );
}
