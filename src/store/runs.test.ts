/**
 * The run history's reads under the same assertions on both backends: DuckDB's (`runs.ts`) and
 * PostgreSQL's (`pg/runs.ts`, against a throwaway server).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { newRunId } from "./ids.js";
import type { Store } from "./open.js";
import { migratePg, openPgPool, type PgStore } from "./pg/index.js";
import type { RunRecording } from "./run-records.js";
import type { ListRunsOptions, RunKey, RunRow, TaskRunRow } from "./runs.js";
import { canTaskMove } from "./states.js";
import { tempStore } from "./testing.js";
import { duckHistory, type HistoryBackend, pgHistory } from "./testing-history.js";

describe("run history on DuckDB", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });
  runsTests(() => duckHistory(store));
});

pgDescribe("run history on PostgreSQL", (server) => {
  let pg: PgStore;
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
  });
  afterAll(() => pg?.close());
  beforeEach(async () => {
    await pg.pool.query("TRUNCATE runs, task_runs, state_transitions, run_logs");
  });
  runsTests(() => pgHistory(pg));
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
async function insertRun(h: HistoryBackend, row: RunRow): Promise<void> {
  await h.createRuns([{ ...row, state: "Running", lease_owner: null }], row.created_at, "test");
  if (row.state !== "Running") {
    await h.exec("UPDATE runs SET state = $1, ended_at = CAST($2 AS TIMESTAMPTZ) WHERE id = $3", [
      row.state,
      row.ended_at?.toISOString() ?? null,
      row.id,
    ]);
  }
}

/** A task recorded as it happens: Running first when it ran, then its row. */
function recordTask(recorder: RunRecording, row: TaskRunRow): void {
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

/** The assertions both backends' reads meet. */
function runsTests(history: () => HistoryBackend): void {
  describe("runs", () => {
    it("inserts a run and reads it back with JS types", async () => {
      const row = run("0190a1b2-0000-7000-8000-000000000001");
      await insertRun(history(), row);
      expect(await history().findRun(row.id)).toEqual(row);
    });

    it("lists newest first, filtered by pipeline and state, with a limit", async () => {
      const base = Date.parse("2024-01-01T00:00:00Z");
      for (let i = 0; i < 5; i++) {
        await insertRun(
          history(),
          run(`run-${i}`, {
            created_at: new Date(base + i * 60_000),
            pipeline: i % 2 === 0 ? "even" : "odd",
            state: i === 4 ? "Failed" : "Completed",
          }),
        );
      }
      expect((await history().listRuns()).map((r) => r.id)).toEqual([
        "run-4",
        "run-3",
        "run-2",
        "run-1",
        "run-0",
      ]);
      expect((await history().listRuns({ limit: 2 })).map((r) => r.id)).toEqual(["run-4", "run-3"]);
      expect((await history().listRuns({ pipeline: "odd" })).map((r) => r.id)).toEqual(["run-3", "run-1"]);
      expect((await history().listRuns({ pipeline: "even", state: "Completed" })).map((r) => r.id)).toEqual([
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
        await history().createRuns(
          [{ ...run(id), state: state === "Running" ? "Running" : "Scheduled", scheduled_at, started_at }],
          made,
          "test",
        );
        if (state !== "Running" && state !== "Scheduled") {
          await history().exec("UPDATE runs SET state = $1 WHERE id = $2", [state, id]);
        }
      }
      const ids = async (options: ListRunsOptions) =>
        (await history().listRuns({ now, ...options })).map((r) => r.id);
      expect(await ids({ when: "ran" })).toEqual(["due-now", "by-hand", "waiting", "ran-late", "ran-early"]);
      expect(await ids({ when: "upcoming" })).toEqual(["next", "after"]);
      expect(await ids({ when: "ran", since: at(-60) })).toEqual([
        "due-now",
        "by-hand",
        "waiting",
        "ran-late",
      ]);
      expect(await ids({ when: "ran", state: "Scheduled" })).toEqual(["due-now"]);
      expect(await ids({ when: "upcoming", limit: 1 })).toEqual(["next"]);
      expect((await history().listRuns({ when: "upcoming", now }))[0]!.scheduled_at).toEqual(at(30));
    });

    it("finds a run by exact id or unique prefix; an ambiguous prefix names the candidates", async () => {
      await insertRun(history(), run("0190aaaa-1111-7000-8000-000000000001"));
      await insertRun(history(), run("0190aaaa-2222-7000-8000-000000000002"));
      await insertRun(history(), run("0190bbbb-3333-7000-8000-000000000003"));
      expect((await history().findRun("0190bbbb"))?.id).toBe("0190bbbb-3333-7000-8000-000000000003");
      expect((await history().findRun("0190AAAA-2"))?.id).toBe("0190aaaa-2222-7000-8000-000000000002");
      expect(await history().findRun("0190c")).toBeUndefined();
      expect(await history().findRun("")).toBeUndefined();
      await expect(history().findRun("0190aaaa")).rejects.toThrow(
        /ambiguous.*0190aaaa-2222-7000-8000-000000000002.*0190aaaa-1111-7000-8000-000000000001/,
      );
    });

    it("lists a run's tasks in start order, never-started ones last", async () => {
      const id = newRunId();
      const recorder = await history().recorder(id);
      recordTask(recorder, taskRow(id, "b", { started_at: new Date("2024-01-02T21:00:05Z") }));
      recordTask(recorder, taskRow(id, "a", { started_at: new Date("2024-01-02T21:00:06Z") }));
      recordTask(
        recorder,
        taskRow(id, "c", { state: "Skipped", started_at: null, ended_at: null, outputs: null }),
      );
      recordTask(recorder, taskRow(newRunId(), "other"));
      await recorder.close();
      const tasks = await history().taskRunsOf(id);
      expect(tasks.map((t) => t.task_id)).toEqual(["b", "a", "c"]);
      expect(tasks[0]).toEqual(taskRow(id, "b", { started_at: new Date("2024-01-02T21:00:05Z") }));
      expect(tasks[2]?.outputs).toBeNull();
    });

    it("reads logs in time order, after a cursor, with a limit", async () => {
      const id = newRunId();
      const recorder = await history().recorder(id);
      const t0 = new Date("2024-01-02T21:00:00.000Z");
      const t1 = new Date("2024-01-02T21:00:00.001Z");
      recorder.log(null, "info", "run started", t0);
      recorder.log("fetch[AAPL]", "info", "same millisecond, later", t0);
      recorder.log("fetch[AAPL]", "warn", "next millisecond", t1);
      await recorder.close();
      const all = await history().logsOf(id);
      expect(all.map((l) => l.message)).toEqual([
        "run started",
        "same millisecond, later",
        "next millisecond",
      ]);
      expect(all[0]).toEqual({
        run_id: id,
        task_id: null,
        ts: t0,
        seq: 0,
        level: "info",
        message: "run started",
      });
      const after = await history().logsOf(id, { after: { ts: all[0]!.ts, seq: all[0]!.seq } });
      expect(after.map((l) => l.message)).toEqual(["same millisecond, later", "next millisecond"]);
      expect((await history().logsOf(id, { limit: 1 })).map((l) => l.message)).toEqual(["run started"]);
      expect(await history().logsOf("other")).toEqual([]);
    });
  });

  describe("findCachedTask", () => {
    it("finds the latest Completed task with the key, within the expiry", async () => {
      const old = newRunId();
      const recent = newRunId();
      const recorder = await history().recorder(old);
      recordTask(
        recorder,
        taskRow(old, "fetch", {
          cache_key: "k",
          ended_at: new Date("2024-01-01T00:00:00Z"),
          outputs: { v: 1 },
        }),
      );
      await recorder.close();
      const second = await history().recorder(recent);
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

      expect(await history().findCachedTask("k", undefined)).toEqual({
        outputs: { v: 2 },
        run_id: recent,
        task_id: "fetch",
      });
      expect(await history().findCachedTask("k", new Date("2024-01-03T00:00:00Z"))).toMatchObject({
        run_id: recent,
      });
      expect(await history().findCachedTask("k", new Date("2024-01-03T00:00:00.001Z"))).toBeUndefined();
      expect(await history().findCachedTask("f", undefined)).toBeUndefined();
      expect(await history().findCachedTask("c", undefined)).toBeUndefined();
      expect(await history().findCachedTask("missing", undefined)).toBeUndefined();

      const many = await history().findCachedTasks(["k", "f", "c", "missing", "k"], undefined);
      expect([...many.keys()]).toEqual(["k"]);
      expect(many.get("k")).toEqual({ outputs: { v: 2 }, run_id: recent, task_id: "fetch" });
      const fresh = await history().findCachedTasks(["k"], new Date("2024-01-02T00:00:00Z"));
      expect(fresh.get("k")?.run_id).toBe(recent);
      expect((await history().findCachedTasks(["k"], new Date("2024-01-04T00:00:00Z"))).size).toBe(0);
      expect((await history().findCachedTasks([], undefined)).size).toBe(0);
    });
  });

  describe("runsPage", () => {
    it("pages the ran list through time windows exactly as one sort of every run would", async () => {
      // 600 runs over ~3 years, clustered and sparse: started, only due, only made; equal times;
      // Scheduled runs ahead of now (not in the list); Failed ones rare and old.
      const rows = pagingRuns();
      await history().exec(
        `INSERT INTO runs (id, pipeline, state, created_at, started_at, scheduled_at) VALUES ${rows
          .map(
            (r) =>
              `('${r.id}', '${r.pipeline}', '${r.state}', ${[r.created, r.started, r.scheduled].map(sqlTime).join(", ")})`,
          )
          .join(",\n")}`,
      );
      const now = new Date("2024-03-01T00:00:00Z");
      const filters = [
        {},
        { state: "Failed" },
        { pipeline: "p1" },
        { since: new Date("2023-06-01T00:00:00Z") },
        { state: "Nope" },
        { pipeline: "pu" },
      ];
      for (const filter of filters) {
        const all = await history().listRuns({ ...filter, when: "ran", now });
        // Computed here, apart from either backend's SQL.
        expect(
          all.map((r) => r.id),
          JSON.stringify(filter),
        ).toEqual(ranOrder(rows, { ...filter, now }));
        // Short lists page one by one too: every key is a page boundary once.
        for (const limit of all.length < 20 ? [1, 7] : [7, 50, 1000]) {
          const seen: string[] = [];
          let after: RunKey | undefined;
          for (;;) {
            const page = await history().runsPage({
              ...filter,
              when: "ran",
              now,
              limit,
              ...(after ? { after } : {}),
            });
            seen.push(...page.rows.map((r) => r.id));
            // A key that repeats a page would loop forever: fail instead.
            expect(seen.length).toBeLessThanOrEqual(all.length);
            if (page.next === null) break;
            after = page.next;
          }
          expect(seen, `${JSON.stringify(filter)} limit ${limit}`).toEqual(all.map((r) => r.id));
        }
        expect(
          (await history().listRuns({ ...filter, when: "ran", now, limit: 5 })).map((r) => r.id),
        ).toEqual(all.slice(0, 5).map((r) => r.id));
      }
      expect((await history().listRuns({ when: "ran", now })).length).toBeGreaterThan(400);
    });
  });
}

/** A run of the paging test: times in microseconds since the epoch (null: not set). */
interface PagingRun {
  id: string;
  pipeline: string;
  state: string;
  created: bigint;
  started: bigint | null;
  scheduled: bigint | null;
}

/**
 * 600 runs over ~3 years, clustered and sparse: started, only due, only made; equal times;
 * Scheduled runs ahead of now (not in the list); Failed ones rare and old. And three runs whose
 * times differ in microseconds only (a millisecond key would repeat or skip them).
 */
function pagingRuns(): PagingRun[] {
  const base = BigInt(Date.parse("2022-01-01T00:00:00Z")) * 1000n;
  const rows: PagingRun[] = [];
  for (let i = 0; i < 600; i++) {
    const n = BigInt(i);
    rows.push({
      id: `r${String(i).padStart(4, "0")}`,
      pipeline: `p${i % 3}`,
      state: i % 97 === 0 ? "Failed" : i % 11 === 0 ? "Scheduled" : "Completed",
      created: base + ((n * n * 7919n) % 1_000_000_000n) * 100_000n,
      started: i % 4 !== 0 ? base + ((n * 104729n) % 100_000n) * 1_000_000n : null,
      scheduled: i % 3 === 0 ? base + (n % 50n) * 3_600_000_000n * 24n * 21n : null,
    });
  }
  const micro = BigInt(Date.parse("2023-07-01T12:00:00.123Z")) * 1000n;
  for (const [k, us] of [0n, 1n, 999n].entries()) {
    rows.push({
      id: `u${k}`,
      pipeline: "pu",
      state: "Completed",
      created: micro,
      started: micro + us,
      scheduled: null,
    });
  }
  return rows;
}

/** A microsecond time as a TIMESTAMPTZ literal both dialects read. */
function sqlTime(us: bigint | null): string {
  if (us === null) return "NULL";
  const ms = us / 1000n;
  const iso = new Date(Number(ms)).toISOString().replace("Z", "");
  return `CAST('${iso}${String(us % 1000n).padStart(3, "0")}+00' AS TIMESTAMPTZ)`;
}

/** The ids of the "ran" list of `rows` under `filter`, newest first by time then id. */
function ranOrder(
  rows: readonly PagingRun[],
  filter: { state?: string; pipeline?: string; since?: Date; now: Date },
): string[] {
  const us = (d: Date) => BigInt(d.getTime()) * 1000n;
  const now = us(filter.now);
  const time = (r: PagingRun) => r.started ?? r.scheduled ?? r.created;
  return rows
    .filter((r) => !(r.state === "Scheduled" && r.scheduled !== null && r.scheduled > now))
    .filter((r) => filter.state === undefined || r.state === filter.state)
    .filter((r) => filter.pipeline === undefined || r.pipeline === filter.pipeline)
    .filter((r) => filter.since === undefined || time(r) >= us(filter.since))
    .sort((a, b) => (time(a) === time(b) ? (a.id < b.id ? 1 : -1) : time(a) < time(b) ? 1 : -1))
    .map((r) => r.id);
}
