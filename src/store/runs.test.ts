import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRuns } from "./create-runs.js";
import { newRunId } from "./ids.js";
import type { Store } from "./open.js";
import { RunRecorder } from "./recorder.js";
import {
  findCachedTask,
  findCachedTasks,
  findRun,
  listRuns,
  logsOf,
  type RunKey,
  type RunRow,
  runsPage,
  type TaskRunRow,
  taskRunsOf,
} from "./runs.js";
import { canTaskMove } from "./states.js";
import { tempStore } from "./testing.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

function run(id: string, overrides: Partial<RunRow> = {}): RunRow {
  return {
    id,
    pipeline: "demo",
    deployment: null,
    state: "Running",
    parameters: { days_back: 5, symbols: ["AAPL", "MSFT"] },
    logical_date: "2024-01-02",
    created_at: new Date("2024-01-02T21:00:00.000Z"),
    started_at: new Date("2024-01-02T21:00:01.123Z"),
    ended_at: null,
    error: null,
    pipeline_file: "pipelines/demo.yaml",
    scheduled_at: null,
    ...overrides,
  };
}

/** Writes runs as they are given (created in their state at their created_at). */
async function insertRun(db: Store["db"], row: RunRow): Promise<void> {
  await createRuns(db, [{ ...row, state: "Running", lease_owner: null }], row.created_at, "test");
  if (row.state !== "Running") {
    await db.run("UPDATE runs SET state = $state, ended_at = $ended WHERE id = $id", {
      state: row.state,
      ended: row.ended_at?.toISOString() ?? null,
      id: row.id,
    });
  }
}

/** A task recorded as it happens: Running first when it ran, then its row. */
function recordTask(recorder: RunRecorder, row: TaskRunRow): void {
  const at = row.started_at ?? new Date();
  if (!canTaskMove(undefined, row.state)) recorder.task({ ...row, state: "Running", ended_at: null }, at);
  recorder.task(row, row.ended_at ?? at);
}

function taskRow(runId: string, taskId: string, overrides: Partial<TaskRunRow> = {}): TaskRunRow {
  return {
    run_id: runId,
    task_id: taskId,
    step: "sql",
    state: "Completed",
    attempts: 1,
    started_at: new Date("2024-01-02T21:00:02.000Z"),
    ended_at: new Date("2024-01-02T21:00:03.000Z"),
    error: null,
    outputs: { rows: 1 },
    cache_key: null,
    ...overrides,
  };
}

describe("runs", () => {
  it("inserts a run and reads it back with JS types", async () => {
    const row = run("0190a1b2-0000-7000-8000-000000000001");
    await insertRun(store.db, row);
    expect(await findRun(store.db, row.id)).toEqual(row);
  });

  it("lists newest first, filtered by pipeline and state, with a limit", async () => {
    const base = Date.parse("2024-01-01T00:00:00Z");
    for (let i = 0; i < 5; i++) {
      await insertRun(
        store.db,
        run(`run-${i}`, {
          created_at: new Date(base + i * 60_000),
          pipeline: i % 2 === 0 ? "even" : "odd",
          state: i === 4 ? "Failed" : "Completed",
        }),
      );
    }
    expect((await listRuns(store.db)).map((r) => r.id)).toEqual([
      "run-4",
      "run-3",
      "run-2",
      "run-1",
      "run-0",
    ]);
    expect((await listRuns(store.db, { limit: 2 })).map((r) => r.id)).toEqual(["run-4", "run-3"]);
    expect((await listRuns(store.db, { pipeline: "odd" })).map((r) => r.id)).toEqual(["run-3", "run-1"]);
    expect((await listRuns(store.db, { pipeline: "even", state: "Completed" })).map((r) => r.id)).toEqual([
      "run-2",
      "run-0",
    ]);
  });

  it("lists what ran or is due by its time, or what is scheduled ahead, soonest first", async () => {
    const now = new Date("2026-03-02T15:00:00Z");
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
    const made = at(-600);
    const rows: [string, RunRow["state"], Date | null, Date | null][] = [
      // id, state, scheduled_at, started_at
      ["ran-early", "Completed", at(-120), at(-119)],
      ["ran-late", "Failed", at(-60), at(-30)],
      ["waiting", "Late", at(-10), null],
      ["due-now", "Scheduled", at(-1), null],
      ["by-hand", "Running", null, at(-5)],
      ["next", "Scheduled", at(30), null],
      ["after", "Scheduled", at(90), null],
    ];
    for (const [id, state, scheduled_at, started_at] of rows) {
      await createRuns(
        store.db,
        [{ ...run(id), state: state === "Running" ? "Running" : "Scheduled", scheduled_at, started_at }],
        made,
        "test",
      );
      if (state !== "Running" && state !== "Scheduled") {
        await store.db.run("UPDATE runs SET state = $state WHERE id = $id", { state, id });
      }
    }
    const ids = async (options: Parameters<typeof listRuns>[1]) =>
      (await listRuns(store.db, { now, ...options })).map((r) => r.id);
    expect(await ids({ when: "ran" })).toEqual(["due-now", "by-hand", "waiting", "ran-late", "ran-early"]);
    expect(await ids({ when: "upcoming" })).toEqual(["next", "after"]);
    expect(await ids({ when: "ran", since: at(-60) })).toEqual(["due-now", "by-hand", "waiting", "ran-late"]);
    expect(await ids({ when: "ran", state: "Scheduled" })).toEqual(["due-now"]);
    expect(await ids({ when: "upcoming", limit: 1 })).toEqual(["next"]);
    expect((await listRuns(store.db, { when: "upcoming", now }))[0]!.scheduled_at).toEqual(at(30));
  });

  it("finds a run by exact id or unique prefix; an ambiguous prefix names the candidates", async () => {
    await insertRun(store.db, run("0190aaaa-1111-7000-8000-000000000001"));
    await insertRun(store.db, run("0190aaaa-2222-7000-8000-000000000002"));
    await insertRun(store.db, run("0190bbbb-3333-7000-8000-000000000003"));
    expect((await findRun(store.db, "0190bbbb"))?.id).toBe("0190bbbb-3333-7000-8000-000000000003");
    expect((await findRun(store.db, "0190AAAA-2"))?.id).toBe("0190aaaa-2222-7000-8000-000000000002");
    expect(await findRun(store.db, "0190c")).toBeUndefined();
    expect(await findRun(store.db, "")).toBeUndefined();
    await expect(findRun(store.db, "0190aaaa")).rejects.toThrow(
      /ambiguous.*0190aaaa-2222-7000-8000-000000000002.*0190aaaa-1111-7000-8000-000000000001/,
    );
  });

  it("lists a run's tasks in start order, never-started ones last", async () => {
    const id = newRunId();
    const recorder = new RunRecorder(store.db, id);
    recordTask(recorder, taskRow(id, "b", { started_at: new Date("2024-01-02T21:00:05Z") }));
    recordTask(recorder, taskRow(id, "a", { started_at: new Date("2024-01-02T21:00:06Z") }));
    recordTask(
      recorder,
      taskRow(id, "c", { state: "Skipped", started_at: null, ended_at: null, outputs: null }),
    );
    recordTask(recorder, taskRow(newRunId(), "other"));
    await recorder.close();
    const tasks = await taskRunsOf(store.db, id);
    expect(tasks.map((t) => t.task_id)).toEqual(["b", "a", "c"]);
    expect(tasks[0]).toEqual(taskRow(id, "b", { started_at: new Date("2024-01-02T21:00:05Z") }));
    expect(tasks[2]?.outputs).toBeNull();
  });

  it("reads logs in time order, after a cursor, with a limit", async () => {
    const id = newRunId();
    const recorder = new RunRecorder(store.db, id);
    const t0 = new Date("2024-01-02T21:00:00.000Z");
    const t1 = new Date("2024-01-02T21:00:00.001Z");
    recorder.log(null, "info", "run started", t0);
    recorder.log("fetch[AAPL]", "info", "same millisecond, later", t0);
    recorder.log("fetch[AAPL]", "warn", "next millisecond", t1);
    await recorder.close();
    const all = await logsOf(store.db, id);
    expect(all.map((l) => l.message)).toEqual(["run started", "same millisecond, later", "next millisecond"]);
    expect(all[0]).toEqual({
      run_id: id,
      task_id: null,
      ts: t0,
      seq: 0,
      level: "info",
      message: "run started",
    });
    const after = await logsOf(store.db, id, { after: { ts: all[0]!.ts, seq: all[0]!.seq } });
    expect(after.map((l) => l.message)).toEqual(["same millisecond, later", "next millisecond"]);
    expect((await logsOf(store.db, id, { limit: 1 })).map((l) => l.message)).toEqual(["run started"]);
    expect(await logsOf(store.db, "other")).toEqual([]);
  });
});

describe("findCachedTask", () => {
  it("finds the latest Completed task with the key, within the expiry", async () => {
    const old = newRunId();
    const recent = newRunId();
    const recorder = new RunRecorder(store.db, old);
    recordTask(
      recorder,
      taskRow(old, "fetch", {
        cache_key: "k",
        ended_at: new Date("2024-01-01T00:00:00Z"),
        outputs: { v: 1 },
      }),
    );
    await recorder.close();
    const second = new RunRecorder(store.db, recent);
    recordTask(
      second,
      taskRow(recent, "fetch", {
        cache_key: "k",
        ended_at: new Date("2024-01-03T00:00:00Z"),
        outputs: { v: 2 },
      }),
    );
    recordTask(second, taskRow(recent, "failed", { cache_key: "f", state: "Failed" }));
    recordTask(second, taskRow(recent, "cached", { cache_key: "c", state: "Cached" }));
    await second.close();

    expect(await findCachedTask(store.db, "k", undefined)).toEqual({
      outputs: { v: 2 },
      run_id: recent,
      task_id: "fetch",
    });
    expect(await findCachedTask(store.db, "k", new Date("2024-01-03T00:00:00Z"))).toMatchObject({
      run_id: recent,
    });
    expect(await findCachedTask(store.db, "k", new Date("2024-01-03T00:00:00.001Z"))).toBeUndefined();
    expect(await findCachedTask(store.db, "f", undefined)).toBeUndefined();
    expect(await findCachedTask(store.db, "c", undefined)).toBeUndefined();
    expect(await findCachedTask(store.db, "missing", undefined)).toBeUndefined();

    const many = await findCachedTasks(store.db, ["k", "f", "c", "missing", "k"], undefined);
    expect([...many.keys()]).toEqual(["k"]);
    expect(many.get("k")).toEqual({ outputs: { v: 2 }, run_id: recent, task_id: "fetch" });
    const fresh = await findCachedTasks(store.db, ["k"], new Date("2024-01-02T00:00:00Z"));
    expect(fresh.get("k")?.run_id).toBe(recent);
    expect((await findCachedTasks(store.db, ["k"], new Date("2024-01-04T00:00:00Z"))).size).toBe(0);
    expect((await findCachedTasks(store.db, [], undefined)).size).toBe(0);
  });
});

describe("runsPage", () => {
  it("pages the ran list through time windows exactly as one sort of every run would", async () => {
    // 600 runs over ~3 years, clustered and sparse: started, only due, only made; equal times;
    // Scheduled runs ahead of now (not in the list); Failed ones rare and old.
    await store.db.run(`INSERT INTO runs (id, pipeline, state, created_at, started_at, scheduled_at)
      SELECT printf('r%04d', i), 'p' || (i % 3),
        CASE WHEN i % 97 = 0 THEN 'Failed' WHEN i % 11 = 0 THEN 'Scheduled' ELSE 'Completed' END,
        TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_microseconds(((i * i * 7919) % 1000000000) * 100000),
        CASE WHEN i % 4 <> 0 THEN TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_microseconds(((i * 104729) % 100000) * 1000000) END,
        CASE WHEN i % 3 = 0 THEN TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_microseconds((i % 50) * 3600000000 * 24 * 21) END
      FROM range(600) t(i)`);
    const now = new Date("2024-03-01T00:00:00Z");
    const filters = [
      {},
      { state: "Failed" },
      { pipeline: "p1" },
      { since: new Date("2023-06-01T00:00:00Z") },
      { state: "Nope" },
    ];
    for (const filter of filters) {
      const all = await listRuns(store.db, { ...filter, when: "ran", now });
      for (const limit of [7, 50, 1000]) {
        const seen: string[] = [];
        let after: RunKey | undefined;
        for (;;) {
          const page = await runsPage(store.db, {
            ...filter,
            when: "ran",
            now,
            limit,
            ...(after ? { after } : {}),
          });
          seen.push(...page.rows.map((r) => r.id));
          if (page.next === null) break;
          after = page.next;
        }
        expect(seen, `${JSON.stringify(filter)} limit ${limit}`).toEqual(all.map((r) => r.id));
      }
      expect((await listRuns(store.db, { ...filter, when: "ran", now, limit: 5 })).map((r) => r.id)).toEqual(
        all.slice(0, 5).map((r) => r.id),
      );
    }
    expect((await listRuns(store.db, { when: "ran", now })).length).toBeGreaterThan(400);
  });
});
