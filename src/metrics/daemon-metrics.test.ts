import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasPromtool, promtool, sample } from "../../tests/helpers/prometheus.js";
import { startFaultServer } from "../../tests/servers/fault-server.js";
import type { EngineEvent } from "../engine/run.js";
import { createHttpClient } from "../sources/http/client.js";
import { RateLimiter } from "../sources/http/rate-limiter.js";
import { validateOhlcv } from "../steps/validate-ohlcv.js";
import { BarsWriter, type WorkPoolRow } from "../store/index.js";
import { stepContext, tempStore } from "../store/testing.js";
import { createDaemonMetrics, type DaemonMetrics, type DatabaseGauges } from "./daemon-metrics.js";
import { countBarsWritten, countHttpRequest } from "./record.js";

const pool = (name: string, limit: number | null, queues: WorkPoolRow["queues"] = []): WorkPoolRow => ({
  name,
  concurrency_limit: limit,
  paused: false,
  slots_in_use: 1,
  queued: 2,
  queues,
});

let database: DatabaseGauges;
let active: number;
let metrics: DaemonMetrics;

beforeEach(() => {
  database = { pools: [], deployments: [] };
  active = 0;
  metrics = createDaemonMetrics({
    version: "9.9.9",
    runsActive: () => active,
    runsLimit: 4,
    read: async () => database,
  });
});
afterEach(() => metrics.close());

describe("daemon metrics", () => {
  it("reports through record.ts only while a daemon's registry is installed", async () => {
    metrics.close();
    countBarsWritten("polygon", 5); // nobody listening: dropped
    metrics = createDaemonMetrics({
      version: "1",
      runsActive: () => 0,
      runsLimit: 1,
      read: async () => database,
    });
    countBarsWritten("polygon", 3);
    countHttpRequest("yahoo", 503);
    const text = await metrics.scrape();
    expect(sample(text, "tickflow_bars_written_total", { source: "polygon" })).toBe(3);
    expect(sample(text, "tickflow_http_requests_total", { api: "yahoo", status_class: "5xx" })).toBe(1);
    metrics.close();
    countBarsWritten("polygon", 7);
    expect(sample(await metrics.scrape(), "tickflow_bars_written_total")).toBe(3);
  });

  it("counts runs by deployment and state, start delays, late runs and scheduler passes", async () => {
    const due = new Date("2025-01-02T10:00:00Z");
    metrics.runStarted({ workPool: "default", scheduledAt: due }, new Date("2025-01-02T10:00:03Z"));
    metrics.runStarted({ workPool: "default", scheduledAt: due }, new Date("2025-01-02T10:05:00Z"));
    metrics.runStarted({ workPool: null, scheduledAt: due }, due);
    metrics.runEnded("daily", "Completed", 2);
    metrics.runEnded("daily", "Failed", 40);
    metrics.runEnded("daily", "Completed", 0.2);
    metrics.runEnded(null, "Crashed");
    metrics.runsLate(["daily", "daily", "weekly"]);
    metrics.schedulerPass(0.03);
    active = 2;
    const text = await metrics.scrape();
    const finished = (labels: Record<string, string>) => sample(text, "tickflow_runs_finished_total", labels);
    expect(finished({ deployment: "daily", state: "Completed" })).toBe(2);
    expect(finished({ deployment: "daily", state: "Failed" })).toBe(1);
    // A run that crashed has no duration; one of no deployment has the empty label.
    expect(finished({ deployment: "", state: "Crashed" })).toBe(1);
    expect(sample(text, "tickflow_run_duration_seconds_count", { deployment: "daily" })).toBe(3);
    expect(sample(text, "tickflow_run_duration_seconds_count", { deployment: "" })).toBeUndefined();
    expect(sample(text, "tickflow_run_duration_seconds_bucket", { deployment: "daily", le: "1" })).toBe(1);
    expect(sample(text, "tickflow_run_duration_seconds_sum", { deployment: "daily" })).toBeCloseTo(42.2);
    expect(sample(text, "tickflow_run_start_delay_seconds_count", { pool: "default" })).toBe(2);
    expect(sample(text, "tickflow_run_start_delay_seconds_bucket", { pool: "default", le: "5" })).toBe(1);
    expect(sample(text, "tickflow_run_start_delay_seconds_sum", { pool: "default" })).toBe(303);
    expect(sample(text, "tickflow_run_start_delay_seconds_count", { pool: "" })).toBe(1);
    expect(sample(text, "tickflow_runs_late_total", { deployment: "daily" })).toBe(2);
    expect(sample(text, "tickflow_runs_late_total", { deployment: "weekly" })).toBe(1);
    expect(sample(text, "tickflow_scheduler_pass_duration_seconds_count")).toBe(1);
    expect(sample(text, "tickflow_scheduler_pass_duration_seconds_bucket", { le: "0.05" })).toBe(1);
    expect(sample(text, "tickflow_runs_active")).toBe(2);
    expect(sample(text, "tickflow_runs_active_limit")).toBe(4);
    expect(sample(text, "tickflow_build_info", { version: "9.9.9" })).toBe(1);
    // prom-client's process metrics.
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "process_open_fds",
    ]) {
      expect(sample(text, name), name).toBeGreaterThan(0);
    }
  });

  it("reads pools, queues and last successes at each scrape, dropping what is gone", async () => {
    database = {
      pools: [
        pool("default", 4, [
          { name: "high", priority: 1, concurrency_limit: 2, slots_in_use: 1, queued: 0 },
          { name: "low", priority: 9, concurrency_limit: null, slots_in_use: 0, queued: 2 },
        ]),
        pool("maintenance", null),
      ],
      deployments: [
        { deployment: "daily", at: new Date("2025-01-02T22:30:00Z") },
        { deployment: "weekly", at: null },
      ],
    };
    let text = await metrics.scrape();
    expect(sample(text, "tickflow_work_pool_slots_in_use", { pool: "default" })).toBe(1);
    expect(sample(text, "tickflow_work_pool_slots_limit", { pool: "default" })).toBe(4);
    expect(sample(text, "tickflow_work_pool_queued_runs", { pool: "default" })).toBe(2);
    // Unlimited: no limit sample rather than a made-up number.
    expect(sample(text, "tickflow_work_pool_slots_limit", { pool: "maintenance" })).toBeUndefined();
    expect(sample(text, "tickflow_work_queue_slots_limit", { pool: "default", queue: "high" })).toBe(2);
    expect(
      sample(text, "tickflow_work_queue_slots_limit", { pool: "default", queue: "low" }),
    ).toBeUndefined();
    expect(sample(text, "tickflow_work_queue_queued_runs", { pool: "default", queue: "low" })).toBe(2);
    expect(sample(text, "tickflow_deployment_last_success_timestamp_seconds", { deployment: "daily" })).toBe(
      Date.parse("2025-01-02T22:30:00Z") / 1000,
    );
    // Never succeeded: no timestamp, but its counters are there at 0, so that the first failure
    // is an increase() from 0 rather than a series that appears.
    expect(sample(text, "tickflow_deployment_last_success_timestamp_seconds", { deployment: "weekly" })).toBe(
      undefined,
    );
    for (const state of ["Completed", "Failed", "Cancelled", "Crashed"])
      expect(sample(text, "tickflow_runs_finished_total", { deployment: "weekly", state }), state).toBe(0);
    expect(sample(text, "tickflow_runs_late_total", { deployment: "weekly" })).toBe(0);

    database = { pools: [pool("default", 4)], deployments: [] };
    text = await metrics.scrape();
    expect(sample(text, "tickflow_work_pool_slots_in_use", { pool: "maintenance" })).toBeUndefined();
    expect(sample(text, "tickflow_work_queue_slots_in_use")).toBeUndefined();
    expect(sample(text, "tickflow_deployment_last_success_timestamp_seconds")).toBeUndefined();
  });

  it("counts each task attempt once, by step and outcome, and retries by step", async () => {
    const task = (id: string, step: string, state: string, attempt: number): EngineEvent =>
      ({ type: "task", id, step, state, attempt }) as EngineEvent;
    const events = metrics.taskEvents();
    for (const e of [
      // Failed, retried, then Completed.
      task("fetch[A]", "polygon.daily_bars", "Running", 1),
      task("fetch[A]", "polygon.daily_bars", "Retrying", 1),
      task("fetch[A]", "polygon.daily_bars", "Running", 2),
      task("fetch[A]", "polygon.daily_bars", "Completed", 2),
      // Failed with no retry left.
      task("check", "validate.ohlcv", "Running", 1),
      task("check", "validate.ohlcv", "Failed", 1),
      // Failed, then cancelled while waiting for its retry: the wait is no attempt.
      task("fetch[B]", "polygon.daily_bars", "Running", 1),
      task("fetch[B]", "polygon.daily_bars", "Retrying", 1),
      task("fetch[B]", "polygon.daily_bars", "Cancelled", 1),
      // No attempt at all.
      task("later", "sql", "Skipped", 0),
      task("cached", "sql", "Cached", 0),
      task("bad", "sql", "Failed", 0),
      { type: "log", taskId: null, level: "info", message: "ignored" },
    ] as EngineEvent[]) {
      events(e);
    }
    const text = await metrics.scrape();
    const attempts = (step: string, outcome: string) =>
      sample(text, "tickflow_task_attempts_total", { step, outcome });
    expect(attempts("polygon.daily_bars", "Failed")).toBe(2);
    expect(attempts("polygon.daily_bars", "Completed")).toBe(1);
    expect(attempts("polygon.daily_bars", "Cancelled")).toBeUndefined();
    expect(attempts("validate.ohlcv", "Failed")).toBe(1);
    expect(sample(text, "tickflow_task_attempts_total", { step: "sql" })).toBeUndefined();
    expect(sample(text, "tickflow_task_retries_total", { step: "polygon.daily_bars" })).toBe(2);
    expect(sample(text, "tickflow_task_retries_total", { step: "validate.ohlcv" })).toBeUndefined();
  });

  it("counts a vendor client's requests by status class, its retries and its waits", async () => {
    const server = await startFaultServer({
      "/a": [
        { kind: "status", status: 429, headers: { "retry-after": "0.2" } },
        { kind: "status", status: 502 },
        { kind: "json", body: { ok: 1 } },
      ],
      "/b": [{ kind: "json", body: { ok: 2 } }],
      "/missing": [{ kind: "json", status: 404, body: { status: "ERROR", error: "no such thing" } }],
    });
    // One request per 150 ms: the second waits for the first to leave the window.
    const limiter = new RateLimiter({ ratePerMinute: 1, windowMs: 150 });
    const client = createHttpClient({
      baseUrl: server.origin,
      api: "polygon",
      rateLimiter: limiter,
      retryBaseMs: 20,
      random: () => 1,
    });
    try {
      await client.getJson("/a");
      await client.getJson("/b");
      await expect(client.getJson("/missing")).rejects.toThrow(/404/);
    } finally {
      await client.close();
      await server.close();
    }
    const text = await metrics.scrape();
    const requests = (status_class: string) =>
      sample(text, "tickflow_http_requests_total", { api: "polygon", status_class });
    expect([requests("2xx"), requests("4xx"), requests("5xx")]).toEqual([2, 2, 1]);
    expect(sample(text, "tickflow_http_retries_total", { api: "polygon" })).toBe(2);
    const waited = (reason: string) =>
      sample(text, "tickflow_http_wait_seconds_total", { api: "polygon", reason });
    expect(waited("retry_after")).toBeCloseTo(0.2);
    // Backoff after the 502 (the second attempt): 2 x 20 ms, the jitter at its top.
    expect(waited("backoff")).toBeCloseTo(0.04);
    // After the backoff, each request waits for the one before to leave the 150 ms window (none
    // waits after the Retry-After, which outlasted it): about 110 + 150 + 150 ms.
    expect(waited("rate_limit")).toBeGreaterThan(0.3);
    expect(waited("rate_limit")).toBeLessThan(1);
  });

  it("counts bars the bars writer commits and findings validate.ohlcv records", async () => {
    const { store, cleanup } = await tempStore();
    try {
      const writer = new BarsWriter(store.db, "polygon");
      const bar = (date: string, low: number) => ({
        symbol: "AAA",
        date,
        open: 10,
        high: 11,
        low,
        close: 10,
        volume: 100,
      });
      // 2024-01-04 has low > high: an ohlc_consistency error; a missing session between them warns.
      await writer.write({ bars: [bar("2024-01-02", 9), bar("2024-01-04", 12), bar("2024-01-08", 9)] });
      await writer.close();
      await validateOhlcv.run!(
        stepContext(store.db),
        validateOhlcv.params.parse({ source: "polygon", fail_on: "never" }) as never,
      );
    } finally {
      await cleanup();
    }
    const text = await metrics.scrape();
    expect(sample(text, "tickflow_bars_written_total", { source: "polygon" })).toBe(3);
    expect(
      sample(text, "tickflow_quality_findings_total", { check: "ohlc_consistency", severity: "error" }),
    ).toBe(1);
    expect(
      sample(text, "tickflow_quality_findings_total", { check: "missing_sessions", severity: "warn" }),
    ).toBe(2);
  });

  it.skipIf(!hasPromtool)("exposes text that promtool check metrics accepts", async () => {
    database = {
      pools: [
        pool("default", 4, [{ name: "high", priority: 1, concurrency_limit: 2, slots_in_use: 0, queued: 0 }]),
      ],
      deployments: [{ deployment: "daily", at: new Date() }],
    };
    metrics.runStarted({ workPool: "default", scheduledAt: new Date(Date.now() - 1000) }, new Date());
    metrics.runEnded("daily", "Completed", 1);
    metrics.runsLate(["daily"]);
    metrics.schedulerPass(0.01);
    metrics.taskEvents()({ type: "task", id: "t", step: "sql", state: "Running", attempt: 1 });
    countHttpRequest("polygon", 200);
    countBarsWritten("polygon", 1);
    const checked = promtool(["check", "metrics"], await metrics.scrape());
    expect(checked, checked.output).toEqual({ code: 0, output: "" });
  });
});
