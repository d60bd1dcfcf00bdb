/**
 * `/metrics` of a real daemon (spawned) that ran successful, failed, retried and late runs and an
 * ingestion against a vendor server with faults: the values of each family, checked against the
 * database where it is the truth, and `promtool check metrics` on the text when installed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./helpers/cli.js";
import { api, type Daemon, spawnDaemon, waitFor } from "./helpers/daemon.js";
import { hasPromtool, promtool, sample } from "./helpers/prometheus.js";
import { type FaultServer, startFaultServer } from "./servers/fault-server.js";

const SESSIONS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"];
const KEY = "k-metrics-test-12345";

let dir: string;
let cleanup: () => Promise<void>;
let vendor: FaultServer;

/** Polygon aggregates of one symbol over SESSIONS; `bad` has its low above its high. */
const aggs = (symbol: string, bad?: string) => ({
  kind: "json" as const,
  body: {
    ticker: symbol,
    status: "OK",
    resultsCount: SESSIONS.length,
    results: SESSIONS.map((d) => ({
      t: Date.parse(`${d}T05:00:00Z`),
      o: 10,
      h: 11,
      l: d === bad ? 12 : 9,
      c: 10.5,
      v: 1000,
    })),
  },
});

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const path = (symbol: string) => `/v2/aggs/ticker/${symbol}/range/1/day/${SESSIONS[0]}/${SESSIONS.at(-1)}`;
  vendor = await startFaultServer({
    [path("AAA")]: [
      { kind: "status", status: 429, headers: { "retry-after": "1" } },
      aggs("AAA", "2024-01-04"),
    ],
    [path("BBB")]: [{ kind: "status", status: 500, body: "oops" }, aggs("BBB")],
  });
  const files: Record<string, string> = {
    "pipelines/ok.yaml": "kind: pipeline\nname: ok\ntasks:\n  say: {uses: log, with: {message: hello}}\n",
    "pipelines/fails.yaml": `kind: pipeline
name: fails
tasks:
  boom: {uses: sql, retries: 1, retry_delay: 100ms, with: {query: "SELECT error('boom')"}}
`,
    // Fails when it has run an odd number of times: the retry succeeds.
    "pipelines/flaky.yaml": `kind: pipeline
name: flaky
tasks:
  again:
    uses: sql
    retries: 1
    retry_delay: 100ms
    with:
      query: "CREATE TABLE IF NOT EXISTS tries(n INTEGER); INSERT INTO tries VALUES (1); SELECT CASE WHEN count(*) % 2 = 1 THEN error('again') END FROM tries"
`,
    "pipelines/ingest.yaml": `kind: pipeline
name: ingest
tasks:
  fetch:
    uses: polygon.daily_bars
    with:
      symbols: [AAA, BBB]
      start: "${SESSIONS[0]}"
      end: "${SESSIONS.at(-1)}"
      base_url: ${vendor.origin}
      api_key: \${{ env.POLYGON_API_KEY }}
      rate_limit: 0
  check:
    uses: validate.ohlcv
    needs: [fetch]
    with: {source: polygon, fail_on: never}
`,
    "deployment/work-pools/default.yaml": `kind: work_pool
name: default
concurrency_limit: 3
queues:
  - {name: high, priority: 1, concurrency_limit: 2}
  - {name: low, priority: 5}
`,
    "deployment/tickflow.yaml": `kind: deployments
work_pools: [work-pools/*.yaml]
deployments:
  - {name: ok, pipeline: ../pipelines/ok.yaml, work_pool: {name: default, queue: high}}
  - {name: fails, pipeline: ../pipelines/fails.yaml, work_pool: {name: default, queue: high}}
  - {name: flaky, pipeline: ../pipelines/flaky.yaml, work_pool: {name: default, queue: high}}
  - {name: ingest, pipeline: ../pipelines/ingest.yaml, work_pool: {name: default, queue: high}}
  - name: late
    pipeline: ../pipelines/ok.yaml
    work_pool: {name: default, queue: low}
    schedules: [{cron: "* * * * *"}]
    missed_runs: all
`,
  };
  mkdirSync(join(dir, "deployment/work-pools"), { recursive: true });
  mkdirSync(join(dir, "pipelines"));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
});
afterAll(async () => {
  await vendor.close();
  await cleanup();
});

const start = (db: string) => spawnDaemon(dir, db, { POLYGON_API_KEY: KEY });

async function stop(d: Daemon): Promise<void> {
  d.child.kill("SIGTERM");
  expect(await d.exited).toBe(0);
}

const scrape = (d: Daemon) => fetch(`http://127.0.0.1:${d.port}/metrics`).then((r) => r.text());

/** One number from the database through the daemon's read-only SQL. */
async function count(d: Daemon, sql: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${d.port}/api/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sql }),
  });
  const body = (await r.json()) as { rows: Record<string, unknown>[] };
  return Number(Object.values(body.rows[0] ?? {})[0]);
}

describe("the daemon's /metrics", () => {
  it("counts runs, attempts, vendor requests, bars and findings, and reads pools and last successes from the database", async () => {
    const db = join(dir, "metrics.duckdb");
    // A first start registers the files (and schedules the hour ahead); then the daemon is "down"
    // for three minutes: the scheduler's mark is moved back, so the next start finds missed fires.
    await stop(await start(db));
    const instance = await DuckDBInstance.create(db);
    const connection = await instance.connect();
    await connection.run("UPDATE schedules SET scheduled_until = now() - INTERVAL 3 MINUTE");
    connection.closeSync();
    instance.closeSync();

    const daemon = await start(db);
    const since = new Date(Date.now() - 1000).toISOString();
    let text: string;
    try {
      const ids: Record<string, string> = {};
      for (const name of ["ok", "fails", "flaky", "ingest"]) {
        const made = await api(daemon, "POST", `/api/deployments/${name}/runs`);
        expect(made.status).toBe(201);
        ids[name] = String(made.json.id);
      }
      const finals: Record<string, string> = {};
      for (const [name, id] of Object.entries(ids)) {
        finals[name] = await waitFor(`run ${name} to end`, async () => {
          const state = String((await api(daemon, "GET", `/api/runs/${id}`)).json.state);
          return ["Completed", "Failed", "Cancelled", "Crashed"].includes(state) ? state : undefined;
        });
      }
      expect(finals).toEqual({ ok: "Completed", fails: "Failed", flaky: "Completed", ingest: "Completed" });
      const lateRuns = await count(
        daemon,
        `SELECT count(DISTINCT run_id) FROM state_transitions WHERE task_id IS NULL AND state = 'Late' AND ts >= '${since}'`,
      );
      // Fires of the last three minutes: two or three, two of them due over a minute ago.
      expect(lateRuns).toBeGreaterThanOrEqual(2);
      // A scrape between two equal looks at the database with nothing due or running (a fire of
      // the next minute may come due meanwhile: then look again).
      const look = () =>
        count(
          daemon,
          `SELECT count(*) FILTER (WHERE state = 'Completed' AND ended_at >= '${since}')
             + 1000 * count(*) FILTER (WHERE state IN ('Scheduled', 'Late', 'Pending', 'Running') AND scheduled_at <= now())
           FROM runs WHERE deployment = 'late'`,
        );
      const [scraped, lateCompleted] = await waitFor("the late runs to end", async () => {
        const before = await look();
        const scraped = await scrape(daemon);
        return before < 1000 && (await look()) === before ? ([scraped, before] as const) : undefined;
      });
      text = scraped;
      expect(lateCompleted).toBeGreaterThanOrEqual(lateRuns);

      const v = (name: string, labels: Record<string, string> = {}) => sample(text, name, labels);
      // Runs by deployment and final state; a duration for each.
      const finished = (deployment: string, state: string) =>
        v("tickflow_runs_finished_total", { deployment, state });
      expect(finished("ok", "Completed")).toBe(1);
      expect(finished("fails", "Failed")).toBe(1);
      expect(finished("flaky", "Completed")).toBe(1);
      expect(finished("ingest", "Completed")).toBe(1);
      expect(finished("late", "Completed")).toBe(lateCompleted);
      expect(v("tickflow_runs_finished_total")).toBe(4 + lateCompleted);
      for (const deployment of ["ok", "fails", "flaky", "ingest"])
        expect(v("tickflow_run_duration_seconds_count", { deployment }), deployment).toBe(1);
      expect(v("tickflow_run_duration_seconds_count", { deployment: "late" })).toBe(lateCompleted);
      // Late runs, and their start delays of a minute and more.
      expect(v("tickflow_runs_late_total", { deployment: "late" })).toBe(lateRuns);
      const delays = v("tickflow_run_start_delay_seconds_count", { pool: "default" })!;
      expect(delays).toBe(4 + lateCompleted);
      const overAMinute =
        delays - v("tickflow_run_start_delay_seconds_bucket", { pool: "default", le: "60" })!;
      expect(overAMinute).toBeGreaterThanOrEqual(2);
      // Attempts: fails 2 failed, flaky 1 failed + 1 completed; retries of both.
      expect(v("tickflow_task_attempts_total", { step: "sql", outcome: "Failed" })).toBe(3);
      expect(v("tickflow_task_attempts_total", { step: "sql", outcome: "Completed" })).toBe(1);
      expect(v("tickflow_task_retries_total", { step: "sql" })).toBe(2);
      expect(v("tickflow_task_attempts_total", { step: "log", outcome: "Completed" })).toBe(
        1 + lateCompleted,
      );
      expect(v("tickflow_task_attempts_total", { step: "polygon.daily_bars", outcome: "Completed" })).toBe(1);
      expect(v("tickflow_task_attempts_total", { step: "validate.ohlcv", outcome: "Completed" })).toBe(1);
      expect(v("tickflow_task_retries_total", { step: "log" })).toBeUndefined();
      // The vendor: a 429 (Retry-After: 1) and a 500, each retried.
      const requests = (status_class: string) =>
        v("tickflow_http_requests_total", { api: "polygon", status_class });
      expect([requests("2xx"), requests("4xx"), requests("5xx")]).toEqual([2, 1, 1]);
      expect(v("tickflow_http_retries_total", { api: "polygon" })).toBe(2);
      expect(v("tickflow_http_wait_seconds_total", { api: "polygon", reason: "retry_after" })).toBe(1);
      expect(v("tickflow_http_wait_seconds_total", { api: "polygon", reason: "backoff" })).toBeGreaterThan(0);
      expect(v("tickflow_http_wait_seconds_total", { api: "polygon", reason: "rate_limit" })).toBeUndefined();
      // Bars and findings.
      expect(v("tickflow_bars_written_total", { source: "polygon" })).toBe(2 * SESSIONS.length);
      expect(v("tickflow_quality_findings_total", { check: "ohlc_consistency", severity: "error" })).toBe(1);
      // From the database: last successes, pools and queues.
      const okAt = v("tickflow_deployment_last_success_timestamp_seconds", { deployment: "ok" })!;
      expect(okAt * 1000).toBeGreaterThan(Date.parse(since));
      expect(okAt * 1000).toBeLessThanOrEqual(Date.now());
      expect(
        v("tickflow_deployment_last_success_timestamp_seconds", { deployment: "fails" }),
      ).toBeUndefined();
      expect(v("tickflow_work_pool_slots_in_use", { pool: "default" })).toBe(0);
      expect(v("tickflow_work_pool_slots_limit", { pool: "default" })).toBe(3);
      expect(v("tickflow_work_pool_queued_runs", { pool: "default" })).toBe(0);
      expect(v("tickflow_work_queue_slots_limit", { pool: "default", queue: "high" })).toBe(2);
      expect(v("tickflow_work_queue_slots_limit", { pool: "default", queue: "low" })).toBeUndefined();
      expect(v("tickflow_work_queue_slots_in_use", { pool: "default", queue: "low" })).toBe(0);
      // The daemon itself.
      expect(v("tickflow_scheduler_pass_duration_seconds_count")).toBeGreaterThanOrEqual(1);
      expect(v("tickflow_runs_active")).toBe(0);
      expect(v("tickflow_build_info", { version: "0.1.0" })).toBe(1);
      expect(v("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
      expect(v("process_open_fds")).toBeGreaterThan(0);
      expect(v("process_start_time_seconds")! * 1000).toBeGreaterThan(Date.parse(since) - 60_000);
      expect(v("process_cpu_seconds_total")).toBeGreaterThan(0);
      // Bounded labels: never a run id nor a symbol.
      expect(text).not.toMatch(/AAA|BBB/);
      for (const id of Object.values(ids)) expect(text).not.toContain(id);
    } finally {
      await stop(daemon);
    }

    if (hasPromtool) {
      const checked = promtool(["check", "metrics"], text);
      expect(checked, checked.output).toEqual({ code: 0, output: "" });
    }

    // After a restart the counters start again; the last success comes from the run history.
    const again = await start(db);
    try {
      const after = await scrape(again);
      expect(sample(after, "tickflow_runs_finished_total")).toBe(0);
      expect(sample(after, "tickflow_runs_finished_total", { deployment: "fails", state: "Failed" })).toBe(0);
      expect(sample(after, "tickflow_deployment_last_success_timestamp_seconds", { deployment: "ok" })).toBe(
        sample(text, "tickflow_deployment_last_success_timestamp_seconds", { deployment: "ok" }),
      );
    } finally {
      await stop(again);
    }
  });
});
