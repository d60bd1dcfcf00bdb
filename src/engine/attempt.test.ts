import { describe, expect, it } from "vitest";
import { z } from "zod";
import { compileTask } from "../pipeline/compile.js";
import type { TaskDocument } from "../pipeline/document.js";
import { type AttemptEnv, type InstanceWork, type Outcome, RunAborted, runAttempts } from "./attempt.js";
import { ManualClock } from "./manual-clock.js";

type StepRun = InstanceWork["runStep"];

const params = z.object({ n: z.int().min(1), label: z.string().default("x") });

/** An instance of a task (`uses: test`) whose step is `run`, with what it reports collected. */
function setup(doc: Omit<TaskDocument, "uses">, run: StepRun) {
  const task: TaskDocument = { uses: "test", with: { n: "${{ params.n }}" }, ...doc };
  const clock = new ManualClock();
  const runController = new AbortController();
  const states: string[] = [];
  const calls: { params: Record<string, unknown>; attempt: number; signal: AbortSignal }[] = [];
  const cacheLookups: { key: string; notBefore: Date | undefined }[] = [];
  const cached = new Map<string, Record<string, unknown>>();
  const result: InstanceWork["result"] = { attempts: 0, outputs: {} };
  const work: InstanceWork = {
    doc: task,
    compiled: compileTask(task),
    ctx: { params: { n: 3 }, run: { date: "2025-03-14" } },
    params,
    cacheScope: "pipe/task",
    result,
    runStep: (p, attempt, signal) => {
      calls.push({ params: p, attempt, signal });
      return run(p, attempt, signal);
    },
    onState: (state, message) => states.push(message ? `${state}: ${message}` : state),
  };
  const env: AttemptEnv = {
    clock,
    stopGraceMs: STOP_GRACE_MS,
    runSignal: runController.signal,
    findCached: async (key, notBefore) => {
      cacheLookups.push({ key, notBefore });
      const outputs = cached.get(key);
      return outputs && { outputs };
    },
  };
  let outcome: Outcome | undefined;
  const start = () => {
    const running = runAttempts(work, env);
    void running.then((o) => {
      outcome = o;
    });
    return running;
  };
  return {
    clock,
    runController,
    states,
    calls,
    cacheLookups,
    cached,
    result,
    work,
    start,
    outcome: () => outcome,
  };
}

const completes: StepRun = async (p) => ({ doubled: Number(p.n) * 2 });
const fails: StepRun = async (_, attempt) => {
  throw new Error(`boom ${attempt}`);
};
/** How long an aborted attempt waits for its step to stop (virtual time). */
const STOP_GRACE_MS = 500;

/** A step that ignores its signal and never settles. */
const hangs: StepRun = () => new Promise(() => {});
/** A step that waits on the test clock for `ms`, honouring its signal. */
const waits =
  (clock: ManualClock, ms: number): StepRun =>
  async (_, attempt, signal) => {
    await clock.sleep(ms, signal);
    return { attempt };
  };

describe("runAttempts", () => {
  it("parses the rendered `with` (defaults applied) and completes with the step's outputs", async () => {
    const t = setup({}, completes);
    expect(await t.start()).toEqual({ state: "Completed" });
    expect(t.calls).toEqual([{ params: { n: 3, label: "x" }, attempt: 1, signal: expect.any(AbortSignal) }]);
    expect(t.states).toEqual(["Running"]);
    expect(t.result).toEqual({ attempts: 1, outputs: { doubled: 6 } });
  });

  it("fails invalid parameters at once, without an attempt and without retrying", async () => {
    const t = setup({ with: { n: 0 }, retries: 3 }, completes);
    expect(await t.start()).toEqual({
      state: "Failed",
      error: "invalid parameters: n: Too small: expected number to be >=1",
    });
    expect(t.calls).toEqual([]);
    expect(t.states).toEqual([]);
    expect(t.result.attempts).toBe(0);
  });

  it("fails a `with` that cannot be rendered, naming it", async () => {
    const t = setup({ with: { n: "${{ params.n < 'a' }}" } }, completes);
    expect(await t.start()).toEqual({
      state: "Failed",
      error: "with: cannot compare a number with a string using '<'",
    });
  });

  it("retries `retries` times, `retry_delay` apart on the clock, and completes when an attempt does", async () => {
    const t = setup({ retries: 3, retry_delay: ["10s", "30s"] }, async (_, attempt) => {
      if (attempt < 3) throw new Error(`not yet, attempt ${attempt}`);
      return { attempt };
    });
    void t.start();
    await t.clock.advance(0);
    expect(t.states).toEqual(["Running", "Retrying: not yet, attempt 1"]);
    expect(t.clock.sleeps).toEqual([10_000]);
    await t.clock.advance(9_999);
    expect(t.calls).toHaveLength(1);
    await t.clock.advance(1);
    expect(t.calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect(t.clock.sleeps).toEqual([10_000, 30_000]);
    await t.clock.advance(30_000);
    expect(t.outcome()).toEqual({ state: "Completed" });
    expect(t.states).toEqual([
      "Running",
      "Retrying: not yet, attempt 1",
      "Running",
      "Retrying: not yet, attempt 2",
      "Running",
    ]);
    expect(t.result).toEqual({ attempts: 3, outputs: { attempt: 3 } });
  });

  it("fails with the last attempt's error once the retries are spent", async () => {
    const t = setup({ retries: 2, retry_delay: "1s" }, fails);
    void t.start();
    await t.clock.advance(2_000);
    expect(t.outcome()).toEqual({ state: "Failed", error: "boom 3" });
    expect(t.clock.sleeps).toEqual([1_000, 1_000]);
    expect(t.result.attempts).toBe(3);
  });

  it("ends an attempt at its timeout even when the step ignores its signal, and retries it", async () => {
    const t = setup({ timeout: "2s", retries: 1, retry_delay: "1s" }, hangs);
    void t.start();
    await t.clock.advance(1_999);
    expect(t.outcome()).toBeUndefined();
    await t.clock.advance(1);
    expect(t.calls[0]!.signal.aborted).toBe(true);
    // It gives the step the stop grace to end its work, then goes on without it.
    expect(t.states).toEqual(["Running"]);
    await t.clock.advance(STOP_GRACE_MS);
    expect(t.states).toEqual(["Running", "Retrying: timed out after 2s"]);
    await t.clock.advance(1_000 + 2_000 + STOP_GRACE_MS);
    expect(t.outcome()).toEqual({ state: "Failed", error: "timed out after 2s" });
    expect(t.result.attempts).toBe(2);
  });

  it("gives an attempt within its timeout the whole time it needs", async () => {
    const t = setup({ timeout: "2s" }, (p, attempt, signal) => waits(t.clock, 1_999)(p, attempt, signal));
    void t.start();
    await t.clock.advance(1_999);
    expect(t.outcome()).toEqual({ state: "Completed" });
  });

  it("ends Cancelled when the run is cancelled, and does not retry", async () => {
    const t = setup({ retries: 3 }, (p, attempt, signal) => waits(t.clock, 60_000)(p, attempt, signal));
    void t.start();
    await t.clock.advance(1_000);
    t.runController.abort(new RunAborted("Cancelled", "cancelled"));
    await t.clock.advance(0);
    expect(t.outcome()).toEqual({ state: "Cancelled", error: "cancelled" });
    expect(t.calls[0]!.signal.aborted).toBe(true);
    expect(t.calls).toHaveLength(1);
  });

  it("ends Failed with the run's message when the pipeline times out, also while waiting to retry", async () => {
    const t = setup({ retries: 3, retry_delay: "1m" }, fails);
    void t.start();
    await t.clock.advance(0);
    expect(t.clock.sleeping).toBe(1);
    t.runController.abort(new RunAborted("Failed", "run timed out after 5s"));
    await t.clock.advance(0);
    expect(t.outcome()).toEqual({ state: "Failed", error: "run timed out after 5s" });
    expect(t.calls).toHaveLength(1);
  });

  it("reuses the outputs of a cached instance with the same key within `expire`", async () => {
    const t = setup({ cache: { key: "${{ run.date }}", expire: "1d" } }, completes);
    t.cached.set("pipe/task/2025-03-14", { doubled: 99 });
    expect(await t.start()).toEqual({ state: "Cached" });
    expect(t.calls).toEqual([]);
    expect(t.result).toEqual({ attempts: 0, outputs: { doubled: 99 }, cacheKey: "pipe/task/2025-03-14" });
    expect(t.cacheLookups).toEqual([
      { key: "pipe/task/2025-03-14", notBefore: new Date(t.clock.now().getTime() - 86_400_000) },
    ]);
  });

  it("runs on a cache miss, keeping the key for later runs; fails a key that cannot be rendered", async () => {
    const t = setup({ cache: { key: "${{ run.date }}" } }, completes);
    expect(await t.start()).toEqual({ state: "Completed" });
    expect(t.cacheLookups).toEqual([{ key: "pipe/task/2025-03-14", notBefore: undefined }]);
    expect(t.result.cacheKey).toBe("pipe/task/2025-03-14");
    const bad = setup({ cache: { key: "${{ nope }}" } }, completes);
    expect(await bad.start()).toMatchObject({
      state: "Failed",
      error: expect.stringMatching(/^cache.key: /),
    });
  });

  it("counts a step that throws at once as a failed attempt", async () => {
    const t = setup({}, () => {
      throw new Error("synchronous");
    });
    expect(await t.start()).toEqual({ state: "Failed", error: "synchronous" });
  });
});
