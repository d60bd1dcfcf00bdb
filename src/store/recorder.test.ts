/**
 * The recorders of both backends under the same assertions: DuckDB's `RunRecorder` (three ways of
 * getting its connection) and PostgreSQL's `RunRecorderPg` (against a throwaway server).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { newRunId } from "./ids.js";
import type { Store } from "./open.js";
import { migratePg, openPgPool, type PgStore, RunRecorderPg } from "./pg/index.js";
import { RunRecorder } from "./recorder.js";
import { type TaskRunRow, taskRunsOf } from "./runs.js";
import { runScript } from "./script.js";
import type { TaskState } from "./states.js";
import { tempStore } from "./testing.js";
import { duckHistory, type HistoryBackend, pgHistory, type TestRecorder } from "./testing-history.js";

let store: Store;
let cleanup: () => Promise<void>;

const at = new Date("2024-01-02T21:00:00Z");

function row(
  runId: string,
  taskId: string,
  state: TaskState,
  overrides: Partial<TaskRunRow> = {},
): TaskRunRow {
  return {
    run_id: runId,
    task_id: taskId,
    step: "sql",
    state,
    attempts: 1,
    started_at: new Date("2024-01-02T21:00:00Z"),
    ended_at: state === "Running" ? null : new Date("2024-01-02T21:00:01Z"),
    error: null,
    outputs: state === "Completed" ? { rows: 1, first: { answer: 42 } } : {},
    cache_key: null,
    ...overrides,
  };
}

/**
 * Given `store.db` (it opens a connection of its own), opened on its own connection, or given some
 * other connection it must assume shared (then each table write commits on its own).
 */
const MODES: [string, (runId: string) => Promise<TestRecorder>][] = [
  ["given store.db", (runId: string) => Promise.resolve(new RunRecorder(store.db, runId))],
  ["opened on a connection of its own", (runId: string) => RunRecorder.open(store, runId)],
  ["on a connection it may share", async (runId: string) => new RunRecorder(await store.connect(), runId)],
];

describe.each(MODES)("RunRecorder %s", (_mode, recorderFor) => {
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });
  recorderTests(() => duckHistory(store, recorderFor));
});

pgDescribe("RunRecorderPg", (server) => {
  let pg: PgStore;
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
  });
  afterAll(() => pg?.close());
  beforeEach(async () => {
    await pg.pool.query("TRUNCATE task_runs, state_transitions, run_logs");
  });
  recorderTests(() => pgHistory(pg));

  it("stores text PostgreSQL refuses (NUL, \\u0000 in outputs) with U+FFFD, not a failed flush forever", async () => {
    const runId = newRunId();
    const recorder = new RunRecorderPg(pg.pool, runId);
    recorder.task(row(runId, "bin", "Running"), at);
    recorder.task(
      row(runId, "bin", "Failed", { error: "bad\0body", outputs: { raw: "a\u0000b", path: "C:\\u0000x" } }),
      at,
      "bad\0body",
    );
    recorder.log("bin", "error", "got \0", at);
    await recorder.close();
    const [task] = await pgHistory(pg).taskRunsOf(runId);
    expect(task).toMatchObject({ error: "bad\uFFFDbody", outputs: { raw: "a\uFFFDb", path: "C:\\u0000x" } });
    expect((await pgHistory(pg).logsOf(runId))[0]?.message).toBe("got \uFFFD");
  });
});

/** The assertions both backends' recorders meet. */
function recorderTests(history: () => HistoryBackend): void {
  const count = (sql: string) => history().count(sql);
  const recorderFor = (runId: string) => history().recorder(runId);
  it("writes 10,000 tasks with their transitions and logs over a few flushes", async () => {
    const runId = newRunId();
    const recorder = await recorderFor(runId);
    const n = 10_000;
    const base = Date.parse("2024-01-02T21:00:00Z");
    const block = 1000;
    for (let first = 0; first < n; first += block) {
      for (let i = first; i < first + block; i++) {
        const id = `fetch[S${i}]`;
        const started = new Date(base + i);
        recorder.task(row(runId, id, "Running", { started_at: started }), started);
        recorder.log(id, "info", `fetched ${i} bars`, started);
      }
      // Every other block is still running at a flush: its final states are upserts.
      if ((first / block) % 2 === 0) await recorder.flush();
      for (let i = first; i < first + block; i++) {
        const id = `fetch[S${i}]`;
        recorder.task(
          row(runId, id, "Completed", { started_at: new Date(base + i), outputs: { rows: i } }),
          new Date(base + i + 1),
        );
      }
      if ((first / block) % 3 === 2) await recorder.flush();
    }
    await recorder.close();
    expect(recorder.pending).toEqual({ tasks: 0, transitions: 0, logs: 0 });

    expect(await count(`SELECT count(*) FROM task_runs WHERE run_id = '${runId}'`)).toBe(n);
    expect(await count(`SELECT count(*) FROM task_runs WHERE state = 'Completed'`)).toBe(n);
    expect(await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${runId}'`)).toBe(2 * n);
    expect(await count(`SELECT count(*) FROM run_logs WHERE run_id = '${runId}'`)).toBe(n);
    expect(await count("SELECT count(DISTINCT seq) FROM state_transitions")).toBe(2 * n);

    const tasks = await history().taskRunsOf(runId);
    expect(tasks).toHaveLength(n);
    expect(tasks[0]).toEqual(
      row(runId, "fetch[S0]", "Completed", { started_at: new Date(base), outputs: { rows: 0 } }),
    );
    expect(tasks[9999]?.outputs).toEqual({ rows: 9999 });
    const logs = await history().logsOf(runId);
    expect(logs).toHaveLength(n);
    expect(logs[1234]).toMatchObject({
      task_id: "fetch[S1234]",
      level: "info",
      message: "fetched 1234 bars",
    });
    const transitions = await history().transitionsOf(runId);
    expect(transitions[0]).toMatchObject({
      task_id: "fetch[S0]",
      state: "Running",
      attempt: 1,
      message: null,
    });
    expect(transitions.filter((t) => t.task_id === "fetch[S0]").map((t) => [t.state, t.attempt])).toEqual([
      ["Running", 1],
      ["Completed", 1],
    ]);
    expect(transitions.at(-1)).toMatchObject({ task_id: "fetch[S9999]", state: "Completed" });
  });

  it("keeps only the latest state of a task, within a flush and across flushes", async () => {
    const runId = newRunId();
    const recorder = await recorderFor(runId);
    recorder.task(row(runId, "a", "Running"), at);
    recorder.task(row(runId, "a", "Retrying", { error: "try again", attempts: 1 }), at, "try again");
    recorder.task(row(runId, "b", "Running"), at);
    recorder.task(row(runId, "b", "Completed"), at);
    await recorder.flush();
    expect((await history().taskRunsOf(runId)).map((t) => [t.task_id, t.state])).toEqual([
      ["a", "Retrying"],
      ["b", "Completed"],
    ]);
    recorder.task(row(runId, "a", "Running", { attempts: 2 }), at);
    recorder.task(row(runId, "a", "Failed", { attempts: 2, error: "boom" }), at, "boom");
    recorder.task(row(runId, "b", "Completed", { outputs: { rows: 2 } }), at); // written before: an upsert
    await recorder.close();
    const tasks = await history().taskRunsOf(runId);
    expect(tasks.map((t) => [t.task_id, t.state, t.attempts, t.error])).toEqual([
      ["a", "Failed", 2, "boom"],
      ["b", "Completed", 1, null],
    ]);
    expect(tasks[1]?.outputs).toEqual({ rows: 2 });
    expect(await count("SELECT count(*) FROM task_runs")).toBe(2);
  });

  it("upserts rows another recorder of the same run wrote", async () => {
    const runId = newRunId();
    const first = await recorderFor(runId);
    first.task(row(runId, "a", "Running"), at);
    first.task(row(runId, "b", "Skipped"), at);
    await first.close();
    const second = await recorderFor(runId);
    second.task(row(runId, "a", "Running"), at);
    second.task(row(runId, "a", "Completed", { outputs: { resumed: true } }), at);
    second.task(row(runId, "b", "Failed", { error: "again" }), at);
    second.task(row(runId, "c", "Running"), at);
    await second.close();
    const tasks = await history().taskRunsOf(runId);
    expect(tasks.map((t) => [t.task_id, t.state])).toEqual([
      ["a", "Completed"],
      ["b", "Failed"],
      ["c", "Running"],
    ]);
    expect(await count("SELECT count(*) FROM task_runs")).toBe(3);
  });

  it("recovers when another writer adds a task row meanwhile", async () => {
    const runId = newRunId();
    const recorder = await recorderFor(runId);
    recorder.log(null, "info", "started", new Date());
    await recorder.flush();
    const other = await recorderFor(runId);
    other.task(row(runId, "x", "Running"), at);
    await other.close();
    recorder.task(row(runId, "x", "Running"), at);
    recorder.task(row(runId, "x", "Completed", { outputs: { mine: true } }), at);
    recorder.task(row(runId, "y", "Running"), at);
    recorder.task(row(runId, "y", "Completed"), at);
    if (history().backend === "duckdb") {
      // DuckDB's appender meets the row; the retry upserts it.
      await expect(recorder.flush()).rejects.toThrow(/Duplicate key|constraint/i);
    } else await recorder.flush(); // PostgreSQL upserts every task row at once
    await recorder.close();
    const tasks = await history().taskRunsOf(runId);
    expect(tasks.map((t) => [t.task_id, t.state, t.outputs])).toEqual([
      ["x", "Completed", { mine: true }],
      ["y", "Completed", { rows: 1, first: { answer: 42 } }],
    ]);
  });

  it("flushes on a timer, never two flushes at once, and stops on close", async () => {
    const runId = newRunId();
    const recorder = await recorderFor(runId);
    recorder.startAutoFlush(10);
    recorder.log(null, "info", "one", new Date());
    // Until committed (the buffer empties when a flush starts, before its commit).
    for (let i = 0; i < 500 && (await count("SELECT count(*) FROM run_logs")) === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(recorder.pending.logs).toBe(0);
    expect(await count("SELECT count(*) FROM run_logs")).toBe(1);
    // Explicit flushes queue behind each other: all rows land exactly once.
    for (let i = 0; i < 5; i++) recorder.log(null, "info", `line ${i}`, new Date());
    await Promise.all([recorder.flush(), recorder.flush(), recorder.flush()]);
    await recorder.close();
    expect(await count("SELECT count(*) FROM run_logs")).toBe(6);
    expect(() => recorder.log(null, "info", "late", new Date())).toThrow(/closed/);
  });

  it("keeps rows buffered when a flush fails, and writes them once it can", async () => {
    const runId = newRunId();
    const recorder = await recorderFor(runId);
    recorder.log(null, "info", "kept", new Date());
    recorder.task(row(runId, "a", "Skipped"), at);
    await history().exec("ALTER TABLE run_logs RENAME TO run_logs_away");
    await expect(recorder.flush()).rejects.toThrow();
    expect(recorder.pending.logs).toBe(1);
    expect(recorder.pending.tasks).toBe(1);
    await expect(recorder.close()).rejects.toThrow();
    await history().exec("ALTER TABLE run_logs_away RENAME TO run_logs");
    await recorder.close();
    expect((await history().logsOf(runId)).map((l) => l.message)).toEqual(["kept"]);
    expect(await count("SELECT count(*) FROM task_runs")).toBe(1);
  });

  it("stores outputs that JSON cannot hold as plainly as it can", async () => {
    const runId = newRunId();
    const recorder = await recorderFor(runId);
    recorder.task(row(runId, "big", "Running"), at);
    recorder.task(row(runId, "big", "Completed", { outputs: { small: 1n, huge: 2n ** 70n } }), at);
    await recorder.close();
    expect((await history().taskRunsOf(runId))[0]?.outputs).toEqual({
      small: 1,
      huge: "1180591620717411303424",
    });
  });
}

describe("RunRecorder given store.db", () => {
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });
  it("does not block the event loop while a step's long query runs on store.db", async () => {
    const runId = newRunId();
    const recorder = new RunRecorder(store.db, runId);
    recorder.log(null, "info", "started", new Date());
    await recorder.flush();
    // Checked first: on store.db itself, what follows would hang the test instead of failing it.
    expect(Reflect.get(recorder, "db")).not.toBe(store.db);
    recorder.task(row(runId, "slow", "Running"), at);
    const controller = new AbortController();
    const query = runScript(store.db, "SELECT count(*) FROM range(1000000000000)", {
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const flushed = recorder.flush();
    // An appender on store.db would hold the event loop until the query ends: this timer would never fire.
    setTimeout(() => controller.abort(new Error("cancelled")), 100);
    await expect(query).rejects.toThrow("cancelled");
    await flushed;
    await recorder.close();
    expect((await taskRunsOf(store.db, runId)).map((t) => t.state)).toEqual(["Running"]);
  });
});
