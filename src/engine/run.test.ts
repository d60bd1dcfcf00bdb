import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { PipelineDocument, TaskDocument } from "../pipeline/document.js";
import { planPipeline } from "../pipeline/plan.js";
import { defineStep, type StepSpec } from "../pipeline/step-spec.js";
import { findRun, logsOf, type Store, taskRunsOf, transitionsOf } from "../store/index.js";
import { tempStore } from "../store/testing.js";
import { ManualClock } from "./manual-clock.js";
import { type EngineEvent, executeRun, type RunResult } from "./run.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ store, cleanup } = await tempStore()));
afterAll(() => cleanup());

/** Runs a test started: one that failed half-way is cancelled, so that it cannot disturb the next. */
const started: { controller: AbortController; running: Promise<RunResult> }[] = [];
afterEach(async () => {
  for (const { controller, running } of started.splice(0)) {
    controller.abort();
    await within(running);
  }
});

/** What the test steps saw: start order, how many ran at once, the signals they were given. */
interface Probe {
  started: string[];
  running: Set<string>;
  maxRunning: number;
  signals: Map<string, AbortSignal>;
}

/** Steps for these tests only: they wait on the test's clock, fail on demand, or hang. */
function testSteps(clock: ManualClock, probe: Probe): StepSpec[] {
  const begin = (taskId: string, signal: AbortSignal) => {
    probe.started.push(taskId);
    probe.running.add(taskId);
    probe.maxRunning = Math.max(probe.maxRunning, probe.running.size);
    probe.signals.set(taskId, signal);
  };
  const wait = defineStep({
    name: "wait",
    summary: "Waits `ms` on the test clock, then completes, or fails with `fail`.",
    params: z.object({ ms: z.int().default(0), fail: z.string().optional(), out: z.unknown().optional() }),
    outputs: {},
    async run(ctx, params) {
      begin(ctx.taskId, ctx.signal);
      try {
        if (params.ms > 0) await clock.sleep(params.ms, ctx.signal);
      } finally {
        probe.running.delete(ctx.taskId);
      }
      if (params.fail) throw new Error(params.fail);
      ctx.log("info", `${ctx.taskId} done`);
      return { out: params.out ?? null };
    },
  });
  const flaky = defineStep({
    name: "flaky",
    summary: "Fails until attempt `succeed_on`.",
    params: z.object({ succeed_on: z.int() }),
    outputs: {},
    async run(ctx, params) {
      begin(ctx.taskId, ctx.signal);
      probe.running.delete(ctx.taskId);
      if (ctx.attempt < params.succeed_on) throw new Error(`not yet, attempt ${ctx.attempt}`);
      return { attempt: ctx.attempt };
    },
  });
  const stuck = defineStep({
    name: "stuck",
    summary: "Ignores its signal and never ends.",
    params: z.object({}),
    outputs: {},
    run(ctx) {
      begin(ctx.taskId, ctx.signal);
      return new Promise(() => {});
    },
  });
  return [wait, flaky, stuck] as StepSpec[];
}

type TaskSpec = Omit<TaskDocument, "uses"> & { uses?: string };

/** A run of a pipeline (tasks `uses: wait` unless they say) on a manual clock, started at once. */
function startRun(tasks: Record<string, TaskSpec>, pipeline: Partial<PipelineDocument> = {}) {
  const clock = new ManualClock("2025-03-14T21:00:00Z");
  const t0 = clock.now().getTime();
  const probe: Probe = { started: [], running: new Set(), maxRunning: 0, signals: new Map() };
  const doc: PipelineDocument = {
    kind: "pipeline",
    name: "engine-test",
    ...pipeline,
    tasks: Object.fromEntries(Object.entries(tasks).map(([id, t]) => [id, { uses: "wait", ...t }])),
  };
  const controller = new AbortController();
  const events: EngineEvent[] = [];
  const running = executeRun({
    store,
    doc,
    plan: planPipeline(doc, {}, "2025-03-14"),
    steps: new Map(testSteps(clock, probe).map((s) => [s.name, s])),
    baseDir: process.cwd(),
    env: {},
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    clock,
  });
  started.push({ controller, running });
  let result: RunResult | undefined;
  void running.then((r) => {
    result = r;
  });
  return {
    clock,
    probe,
    controller,
    events,
    /** Milliseconds of virtual time since the run started. */
    at: (date: Date | undefined) => (date ? date.getTime() - t0 : undefined),
    result: () => result,
    /** The run's result; fails the test when it does not end within a few (real) seconds. */
    finished: () => within(running),
  };
}

/**
 * Waits (in real time: the engine also awaits the database) until `predicate` holds; fails the
 * test instead of hanging when it never does.
 */
async function until(predicate: () => boolean, what = "condition"): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the run did not end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const statesOf = (result: RunResult) => Object.fromEntries(result.tasks.map((t) => [t.id, t.state]));

describe("executeRun", () => {
  it("runs at most max_parallel tasks at once, starting the next as one ends", async () => {
    const run = startRun(
      Object.fromEntries(["a", "b", "c", "d", "e"].map((id) => [id, { with: { ms: 1_000 } }])),
      { max_parallel: 2 },
    );
    await until(() => run.probe.started.length >= 2, "2 started");
    expect([...run.probe.started].sort()).toEqual(["a", "b"]);
    await run.clock.advance(1_000);
    await until(() => run.probe.started.length >= 4, "4 started");
    await run.clock.advance(1_000);
    await until(() => run.probe.started.length >= 5, "5 started");
    await run.clock.advance(1_000);
    const result = await run.finished();
    expect(result.state).toBe("Completed");
    expect(run.probe.maxRunning).toBe(2);
    expect(result.tasks.map((t) => [t.id, run.at(t.startedAt), run.at(t.endedAt)])).toEqual([
      ["a", 0, 1_000],
      ["b", 0, 1_000],
      ["c", 1_000, 2_000],
      ["d", 1_000, 2_000],
      ["e", 2_000, 3_000],
    ]);
  });

  it("defaults max_parallel to 8", async () => {
    const run = startRun(
      Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, { with: { ms: 1 } }])),
    );
    await until(() => run.probe.started.length >= 8, "8 started");
    expect(run.probe.started).toHaveLength(8);
    await run.clock.advance(1);
    await until(() => run.probe.started.length >= 10, "10 started");
    await run.clock.advance(1);
    expect((await run.finished()).state).toBe("Completed");
    expect(run.probe.maxRunning).toBe(8);
  });

  it("holds tasks naming a concurrency limit to its slots, FIFO in plan order (default 1 slot)", async () => {
    const run = startRun(
      {
        api1: { concurrency: "api", with: { ms: 1_000 } },
        api2: { concurrency: "api", with: { ms: 2_000 } },
        api3: { concurrency: "api", with: { ms: 1_000 } },
        api4: { concurrency: "api", with: { ms: 1_000 } },
        free: { with: { ms: 1_000 } },
        db1: { concurrency: "db", with: { ms: 1_000 } },
        db2: { concurrency: "db", with: { ms: 1_000 } },
      },
      { concurrency_limits: { api: 2 } },
    );
    await until(() => run.probe.started.length >= 4, "4 started");
    // Steps start in plan order, but each waits for a database connection, which may come in any order.
    expect([...run.probe.started].sort()).toEqual(["api1", "api2", "db1", "free"]);
    await run.clock.advance(1_000);
    await until(() => run.probe.started.length >= 6, "6 started");
    expect(run.probe.started.slice(4).sort()).toEqual(["api3", "db2"]);
    await run.clock.advance(1_000);
    await until(() => run.probe.started.length >= 7, "7 started");
    await run.clock.advance(1_000);
    const result = await run.finished();
    expect(result.state).toBe("Completed");
    expect(Object.fromEntries(result.tasks.map((t) => [t.id, run.at(t.startedAt)]))).toEqual({
      api1: 0,
      api2: 0,
      api3: 1_000,
      api4: 2_000,
      free: 0,
      db1: 0,
      db2: 1_000,
    });
  });

  it("fails the run at its timeout: running tasks Failed, the rest Cancelled", async () => {
    const run = startRun(
      {
        long: { with: { ms: 60_000 } },
        quick: { with: { ms: 1_000 } },
        after_long: { needs: ["long"] },
        after_quick: { needs: ["quick"], with: { ms: 10_000 } },
      },
      { timeout: "5s" },
    );
    await until(() => run.probe.started.length >= 2, "2 started");
    await run.clock.advance(1_000);
    await until(() => run.probe.started.length >= 3, "after_quick started");
    await run.clock.advance(3_999);
    expect(run.result()).toBeUndefined();
    await run.clock.advance(1);
    const result = await run.finished();
    expect(result).toMatchObject({ state: "Failed", error: "run timed out after 5s" });
    expect(result.tasks.map((t) => [t.id, t.state, t.error, run.at(t.endedAt)])).toEqual([
      ["long", "Failed", "run timed out after 5s", 5_000],
      ["quick", "Completed", undefined, 1_000],
      ["after_long", "Cancelled", "run timed out after 5s", 5_000],
      ["after_quick", "Failed", "run timed out after 5s", 5_000],
    ]);
    expect(run.probe.signals.get("long")!.aborted).toBe(true);
    const stored = await findRun(store.db, result.id);
    expect(stored).toMatchObject({ state: "Failed", error: "run timed out after 5s" });
    expect(run.at(stored!.ended_at!)).toBe(5_000);
  });

  it("fails a task at its timeout even when its step ignores the signal, retrying it first", async () => {
    const run = startRun({
      stuck: { uses: "stuck", timeout: "2s", retries: 1, retry_delay: "1s" },
      after: { needs: ["stuck"] },
    });
    await until(() => run.probe.started.length >= 1, "stuck started");
    await run.clock.advance(1_999);
    expect(run.probe.signals.get("stuck")!.aborted).toBe(false);
    await run.clock.advance(1);
    expect(run.probe.signals.get("stuck")!.aborted).toBe(true);
    // The stuck step gets the stop grace (1 s) to end its work, then the retry delay (1 s).
    await run.clock.advance(1_000);
    await run.clock.advance(1_000);
    await until(() => run.probe.started.length >= 2, "second attempt");
    await run.clock.advance(2_000);
    await run.clock.advance(1_000);
    const result = await run.finished();
    expect(result.state).toBe("Failed");
    expect(result.tasks[0]).toMatchObject({ state: "Failed", attempts: 2, error: "timed out after 2s" });
    expect(run.at(result.tasks[0]!.endedAt)).toBe(7_000);
    expect(statesOf(result)).toEqual({ stuck: "Failed", after: "Skipped" });
    const transitions = await transitionsOf(store.db, result.id);
    expect(
      transitions.filter((t) => t.task_id === "stuck").map((t) => [t.state, t.attempt, t.message]),
    ).toEqual([
      ["Running", 1, null],
      ["Retrying", 1, "timed out after 2s"],
      ["Running", 2, null],
      ["Failed", 2, "timed out after 2s"],
    ]);
  });

  it("retries a failing task `retry_delay` apart and completes it when an attempt succeeds", async () => {
    const run = startRun({
      flaky: { uses: "flaky", retries: 3, retry_delay: ["10s", "30s"], with: { succeed_on: 3 } },
    });
    await until(() => run.clock.sleeps.length >= 1, "first retry delay");
    expect(run.clock.sleeps).toEqual([10_000]);
    await run.clock.advance(10_000);
    await until(() => run.clock.sleeps.length >= 2, "second retry delay");
    await run.clock.advance(30_000);
    const result = await run.finished();
    expect(run.clock.sleeps).toEqual([10_000, 30_000]);
    expect(result.state).toBe("Completed");
    expect(result.tasks[0]).toMatchObject({ state: "Completed", attempts: 3, outputs: { attempt: 3 } });
    expect(run.at(result.tasks[0]!.endedAt)).toBe(40_000);
    const transitions = await transitionsOf(store.db, result.id);
    expect(
      transitions
        .filter((t) => t.task_id === "flaky")
        .map((t) => [t.state, t.attempt, t.message, run.at(t.ts)]),
    ).toEqual([
      ["Running", 1, null, 0],
      ["Retrying", 1, "not yet, attempt 1", 0],
      ["Running", 2, null, 10_000],
      ["Retrying", 2, "not yet, attempt 2", 10_000],
      ["Running", 3, null, 40_000],
      ["Completed", 3, null, 40_000],
    ]);
    const [row] = await taskRunsOf(store.db, result.id);
    expect(row).toMatchObject({ state: "Completed", attempts: 3 });
  });

  it("fails a task whose retries are spent", async () => {
    const run = startRun({ flaky: { uses: "flaky", retries: 1, with: { succeed_on: 5 } } });
    const result = await run.finished();
    expect(result).toMatchObject({ state: "Failed", error: "task flaky failed: not yet, attempt 2" });
    expect(result.tasks[0]!.attempts).toBe(2);
  });

  it("skips the dependants of a failure, runs `if: failure()` and `if: always()` tasks", async () => {
    const run = startRun({
      bad: { with: { fail: "boom" } },
      after_bad: { needs: ["bad"] },
      notify: { needs: ["after_bad"], if: "${{ failure() }}" },
      cleanup: { needs: ["bad"], if: "${{ always() }}" },
      fine: {},
      not_notified: { needs: ["fine"], if: "${{ failure() }}" },
      tolerated: { continue_on_error: true, with: { fail: "optional" } },
      after_tolerated: { needs: ["tolerated"] },
      tolerated_failure: { needs: ["tolerated"], if: "failure()" },
    });
    const result = await run.finished();
    expect(statesOf(result)).toEqual({
      bad: "Failed",
      after_bad: "Skipped",
      notify: "Completed",
      cleanup: "Completed",
      fine: "Completed",
      not_notified: "Skipped",
      tolerated: "Failed",
      after_tolerated: "Completed",
      tolerated_failure: "Skipped",
    });
    expect(result).toMatchObject({ state: "Failed", error: "task bad failed: boom" });
  });

  it("completes a run whose only failure continues on error", async () => {
    const run = startRun({ tolerated: { continue_on_error: true, with: { fail: "optional" } } });
    expect((await run.finished()).state).toBe("Completed");
  });

  it("fails an `if` that cannot be evaluated, and a task whose step cannot run", async () => {
    const run = startRun({
      odd: { if: "${{ 1 < 'a' }}" },
      missing: { uses: "nowhere" },
    });
    const result = await run.finished();
    expect(result.tasks.map((t) => [t.id, t.state, t.error])).toEqual([
      ["odd", "Failed", "if: cannot compare a number with a string using '<'"],
      ["missing", "Failed", "step nowhere cannot run yet in this version of tickflow"],
    ]);
  });

  it("passes outputs downstream, paired by for_each item or gathered into lists", async () => {
    const run = startRun({
      fetch: { for_each: ["A", "B"], with: { out: "rows of ${{ item }}" } },
      check: { for_each: ["A", "B"], needs: ["fetch"], with: { out: "${{ tasks.fetch.outputs.out }}" } },
      report: { needs: ["fetch"], with: { out: "${{ tasks.fetch.outputs.out }}" } },
    });
    const result = await run.finished();
    expect(Object.fromEntries(result.tasks.map((t) => [t.id, t.outputs.out]))).toEqual({
      "fetch[A]": "rows of A",
      "fetch[B]": "rows of B",
      "check[A]": "rows of A",
      "check[B]": "rows of B",
      report: ["rows of A", "rows of B"],
    });
  });

  it("reuses a cached task's outputs in a later run with the same key", async () => {
    const tasks = { costly: { cache: { key: "${{ run.date }}-x", expire: "1h" }, with: { out: 42 } } };
    const first = await startRun(tasks).finished();
    const second = startRun(tasks);
    const result = await second.finished();
    expect(first.tasks[0]!.state).toBe("Completed");
    expect(result.tasks[0]).toMatchObject({ state: "Cached", outputs: { out: 42 }, attempts: 0 });
    expect(second.probe.started).toEqual([]);
  });

  it("cancels: running tasks are aborted and Cancelled, nothing new starts, the run ends Cancelled", async () => {
    const run = startRun({
      slow: { with: { ms: 60_000 } },
      after: { needs: ["slow"] },
    });
    await until(() => run.probe.started.length >= 1, "slow started");
    run.controller.abort();
    const result = await run.finished();
    expect(result).toMatchObject({ state: "Cancelled", error: "cancelled" });
    expect(result.tasks.map((t) => [t.id, t.state, t.error])).toEqual([
      ["slow", "Cancelled", "cancelled"],
      ["after", "Cancelled", undefined],
    ]);
    expect(run.probe.signals.get("slow")!.aborted).toBe(true);
    expect((await findRun(store.db, result.id))!.state).toBe("Cancelled");
  });

  it("records states, logs and events with the clock's timestamps", async () => {
    const run = startRun({ only: { with: { ms: 500 } } });
    await until(() => run.probe.started.length >= 1, "started");
    await run.clock.advance(500);
    const result = await run.finished();
    const logs = await logsOf(store.db, result.id);
    expect(logs.map((l) => [l.task_id, l.message, run.at(l.ts)])).toEqual([["only", "only done", 500]]);
    expect(run.events.map((e) => (e.type === "task" ? `${e.id}:${e.state}` : `${e.type}`))).toEqual([
      "run",
      "only:Running",
      "log",
      "only:Completed",
      "run",
    ]);
    const stored = await findRun(store.db, result.id);
    expect([run.at(stored!.started_at!), run.at(stored!.ended_at!)]).toEqual([0, 500]);
  });
});
