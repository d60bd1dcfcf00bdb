/**
 * The API's control routes in process (`app.request()`) over both backends with the same
 * assertions: a DuckDB file (`LocalControlPlane`) and a PostgreSQL database (`PgControlPlane`) of a
 * throwaway server. Runs listed, shown, their transitions and logs; cancel, retry, run now; pause
 * and resume of deployments and pools; the read-only query. A fresh database for each test (on
 * PostgreSQL: the tables emptied), on a fixed clock.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { type BackendFixture, duckFixture, pgFixture } from "../control/testing.js";
import type { DeploymentRecord, WorkPoolRecord } from "../daemon/deploy.js";
import { newRunId } from "../store/index.js";
import { createApi } from "./app.js";

const NOW = new Date("2026-03-02T15:00:00.000Z"); // 10:00 in New York, a Monday

const TABLES =
  "runs, task_runs, state_transitions, run_logs, deployments, schedules, work_pools, work_queues, notify_outbox";

describe("DuckDB", () => controlRoutes(duckFixture));
pgDescribe("PostgreSQL", (server) =>
  controlRoutes(async () => {
    const fx = await pgFixture(server.url());
    await fx.exec(`TRUNCATE ${TABLES}`);
    return fx;
  }),
);

function deployment(dir: string, name: string): DeploymentRecord {
  return {
    name,
    pipeline: "counted",
    pipelineFile: join(dir, "counted.yaml"),
    parameters: { n: 2 },
    workPool: "default",
    workQueue: "high",
    concurrencyLimit: null,
    collisionStrategy: "enqueue",
    missedRuns: "latest",
    tags: [],
    paused: false,
    schedules: [],
  };
}

const POOL: WorkPoolRecord = {
  name: "default",
  concurrencyLimit: 2,
  paused: false,
  jobDefaults: {},
  queues: [
    { name: "high", priority: 1, concurrencyLimit: 1 },
    { name: "low", priority: 10, concurrencyLimit: null },
  ],
};

/** Every test of the file, over a database `open` gives for each test. */
function controlRoutes(open: () => Promise<BackendFixture>): void {
  let fx: BackendFixture;
  let app: Hono;
  let cancelled: string[];
  let live: Set<string>;
  let errors: string[];

  beforeEach(async () => {
    fx = await open();
    cancelled = [];
    live = new Set();
    errors = [];
    writeFileSync(
      join(fx.dir, "counted.yaml"),
      `kind: pipeline
name: counted
parameters:
  n: {type: integer, default: 1, minimum: 1}
  label: {type: string, default: x}
tasks:
  say: {uses: log, with: {message: "n=\${{ params.n }}"}}
`,
    );
    await fx.deploy([deployment(fx.dir, "daily")], [POOL]);
    app = createApi({
      control: fx.control({
        now: () => NOW,
        live: { has: (id) => live.has(id), cancel: (id) => cancelled.push(id) },
        queryTimeoutMs: 300,
      }),
      token: undefined,
      health: async () => ({ status: "ok" }),
      metrics: async () => "",
      onError: (m) => errors.push(m),
    });
  });
  afterEach(async () => {
    await fx.close();
    expect(errors).toEqual([]);
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: answers are JSON the tests pick apart field by field
  ): Promise<{ status: number; json: any }> {
    const sendsJson = !["GET", "HEAD"].includes(method);
    const response = await app.request(path, {
      method,
      headers: sendsJson ? { "content-type": "application/json" } : {},
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: JSON.parse(await response.text()) };
  }

  /** A run that ran: Running, one task Completed with two log lines, then `state`. */
  async function finishedRun(state: "Completed" | "Failed" = "Completed"): Promise<string> {
    const id = newRunId(NOW.getTime() - 60_000);
    await fx.createRuns(
      [
        {
          id,
          pipeline: "counted",
          deployment: "daily",
          state: "Running",
          parameters: { n: 3 },
          logical_date: "2026-02-27",
          pipeline_file: join(fx.dir, "counted.yaml"),
          started_at: new Date(NOW.getTime() - 60_000),
        },
      ],
      new Date(NOW.getTime() - 60_000),
      "started",
    );
    const started = new Date(NOW.getTime() - 59_000);
    await fx.record(id, {
      row: {
        run_id: id,
        task_id: "say",
        step: "log",
        attempts: 1,
        started_at: started,
        ended_at: null,
        error: null,
        outputs: null,
        cache_key: null,
      },
      states: [
        { state: "Running", at: started },
        { state: "Completed", at: NOW, ended_at: NOW, outputs: { rows: 7 } },
      ],
      logs: [
        { message: "n=3", ts: new Date(NOW.getTime() - 58_000) },
        { message: "second line", ts: new Date(NOW.getTime() - 58_000) },
      ],
    });
    await fx.transitionRuns({ ids: [id] }, { to: state, at: NOW, set: { ended_at: NOW } });
    return id;
  }

  describe("runs", () => {
    it("lists and shows runs with ISO 8601 UTC times and JSON numbers; transitions; logs after a cursor", async () => {
      const id = await finishedRun();
      const list = await call("GET", "/api/runs?limit=5&deployment=daily");
      expect(list.status).toBe(200);
      expect(list.json).toHaveLength(1);
      expect(list.json[0]).toMatchObject({
        id,
        state: "Completed",
        parameters: { n: 3 },
        logical_date: "2026-02-27",
        ended_at: "2026-03-02T15:00:00.000Z",
      });
      expect((await call("GET", "/api/runs?state=Failed")).json).toEqual([]);
      const shown = await call("GET", `/api/runs/${id.slice(0, 30)}`);
      expect(shown.json.tasks).toEqual([
        expect.objectContaining({ task_id: "say", state: "Completed", attempts: 1, outputs: { rows: 7 } }),
      ]);
      const transitions = (await call("GET", `/api/runs/${id}/transitions`)).json;
      expect(transitions.map((t: { task_id: string | null; state: string }) => [t.task_id, t.state])).toEqual(
        [
          [null, "Running"],
          ["say", "Running"],
          ["say", "Completed"],
          [null, "Completed"],
        ],
      );
      const logs = (await call("GET", `/api/runs/${id}/logs`)).json;
      expect(logs.map((l: { message: string }) => l.message)).toEqual(["n=3", "second line"]);
      expect(typeof logs[0].seq).toBe("number");
      const after = await call("GET", `/api/runs/${id}/logs?after_ts=${logs[0].ts}&after_seq=${logs[0].seq}`);
      expect(after.json.map((l: { message: string }) => l.message)).toEqual(["second line"]);
      expect((await call("GET", `/api/runs/${newRunId()}`)).status).toBe(404);
    });

    it("lists what ran or is due, newest first; upcoming=true the scheduled runs to come; since and state", async () => {
      const ran = await finishedRun();
      const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
      const waiting = (id: string, minutes: number) => ({
        id,
        pipeline: "counted",
        deployment: "daily",
        state: "Scheduled" as const,
        parameters: {},
        logical_date: "2026-03-02",
        scheduled_at: at(minutes),
        pipeline_file: join(fx.dir, "counted.yaml"),
      });
      await fx.createRuns(
        [waiting("due", -5), waiting("tomorrow", 24 * 60), waiting("soon", 60)],
        at(-600),
        "scheduled",
      );
      const ids = async (query: string) => {
        const answer = await call("GET", `/api/runs${query}`);
        expect(answer.status).toBe(200);
        return answer.json.map((r: { id: string }) => r.id);
      };
      expect(await ids("")).toEqual([ran, "due"]);
      expect(await ids("?upcoming=true")).toEqual(["soon", "tomorrow"]);
      expect(await ids("?upcoming=false&state=Scheduled")).toEqual(["due"]);
      expect(await ids(`?since=${at(-2).toISOString()}`)).toEqual([ran]);
      expect(await ids("?since=2026-03-03")).toEqual([]);
      expect((await call("GET", "/api/runs?upcoming=true&limit=1")).json[0]).toMatchObject({
        id: "soon",
        scheduled_at: "2026-03-02T16:00:00.000Z",
      });
    });

    it("an ambiguous id prefix is a 400 that lists the candidates", async () => {
      const a = await finishedRun();
      const b = await finishedRun();
      let prefix = "";
      while (a[prefix.length] === b[prefix.length]) prefix += a[prefix.length];
      const show = await call("GET", `/api/runs/${prefix}`);
      expect(show.status).toBe(400);
      expect(show.json.error).toContain(a);
      expect(show.json.error).toContain(b);
      expect((await call("POST", `/api/runs/${prefix}/cancel`, {})).status).toBe(400);
    });

    it("cancels a waiting run at once, a live one through its process (Cancelling), an ended one never (409)", async () => {
      const made = await call("POST", "/api/deployments/daily/runs", {});
      expect(made.status).toBe(201);
      const waiting = made.json.id;
      expect(await call("POST", `/api/runs/${waiting}/cancel`, {})).toMatchObject({
        status: 202,
        json: { id: waiting, state: "Cancelled" },
      });
      expect((await call("GET", `/api/runs/${waiting}`)).json).toMatchObject({
        state: "Cancelled",
        error: "cancelled before it started",
      });

      const running = (await call("POST", "/api/deployments/daily/runs")).json.id;
      await fx.transitionRuns({ ids: [running] }, { to: "Pending", at: NOW });
      await fx.transitionRuns({ ids: [running] }, { to: "Running", at: NOW });
      live.add(running);
      expect((await call("POST", `/api/runs/${running}/cancel`)).json).toEqual({
        id: running,
        state: "Cancelling",
      });
      expect(cancelled).toEqual([running]);
      expect((await call("GET", `/api/runs/${running}`)).json.state).toBe("Cancelling");

      // Running, but no process of this database has it: cancelled at once, its lease cleared.
      const orphan = (await call("POST", "/api/deployments/daily/runs")).json.id;
      await fx.transitionRuns({ ids: [orphan] }, { to: "Pending", at: NOW, set: { lease_owner: "gone" } });
      expect((await call("POST", `/api/runs/${orphan}/cancel`)).json).toEqual({
        id: orphan,
        state: "Cancelled",
      });
      expect(await fx.rows(`SELECT lease_owner FROM runs WHERE id = '${orphan}'`)).toEqual([
        { lease_owner: null },
      ]);

      const done = await finishedRun();
      expect(await call("POST", `/api/runs/${done}/cancel`)).toMatchObject({
        status: 409,
        json: { error: `run ${done} has already ended: Completed` },
      });
    });

    it("20 concurrent cancels of fresh runs all answer 202, and each run is Cancelled once", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await call("POST", "/api/deployments/daily/runs")).json.id);
      const answers = await Promise.all(ids.map((id) => call("POST", `/api/runs/${id}/cancel`)));
      expect(answers.map((a) => a.status)).toEqual(ids.map(() => 202));
      const again = await Promise.all(ids.map((id) => call("POST", `/api/runs/${id}/cancel`)));
      expect(again.map((a) => a.status)).toEqual(ids.map(() => 409));
      const rows = await fx.rows("SELECT count(*) AS n FROM state_transitions WHERE state = 'Cancelled'");
      expect(Number(rows[0]!.n)).toBe(20);
    });

    it("retries an ended run as a new queued run with its parameters and date; not one still running", async () => {
      const failed = await finishedRun("Failed");
      const retry = await call("POST", `/api/runs/${failed}/retry`);
      expect(retry.status).toBe(201);
      expect(retry.json.retry_of).toBe(failed);
      expect((await call("GET", `/api/runs/${retry.json.id}`)).json).toMatchObject({
        state: "Scheduled",
        deployment: "daily",
        parameters: { n: 3 },
        logical_date: "2026-02-27",
        scheduled_at: NOW.toISOString(),
      });
      const transitions = (await call("GET", `/api/runs/${retry.json.id}/transitions`)).json;
      expect(transitions[0]).toMatchObject({ state: "Scheduled", message: `retry of ${failed}` });
      expect((await call("POST", `/api/runs/${retry.json.id}/retry`)).status).toBe(409);
    });
  });

  describe("deployments and pools", () => {
    it("runs one on demand with parameters checked against the pipeline; bad ones create no run", async () => {
      const ok = await call("POST", "/api/deployments/daily/runs", {
        parameters: { label: "typed" },
        parameters_text: { n: "5" },
      });
      expect(ok.status).toBe(201);
      expect((await call("GET", `/api/runs/${ok.json.id}`)).json).toMatchObject({
        state: "Scheduled",
        parameters: { n: 5, label: "typed" },
        logical_date: "2026-03-02",
      });
      for (const [request, why] of [
        [{ parameters_text: { n: "zero" } }, /n: /],
        [{ parameters: { n: 0 } }, /n: .*>= 1/],
        [{ parameters: { nope: 1 } }, /nope/],
      ] as const) {
        const bad = await call("POST", "/api/deployments/daily/runs", request);
        expect(bad.status).toBe(400);
        expect(bad.json.error).toMatch(why);
      }
      expect((await call("GET", "/api/runs?limit=100")).json).toHaveLength(1);
      expect((await call("POST", "/api/deployments/nothing/runs")).status).toBe(404);
    });

    it("lists deployments; pausing deletes the waiting runs, resuming restarts the schedules from now", async () => {
      expect((await call("GET", "/api/deployments")).json).toEqual([
        expect.objectContaining({ name: "daily", pipeline: "counted", work_pool: "default", paused: false }),
      ]);
      const waiting = (await call("POST", "/api/deployments/daily/runs")).json.id;
      expect((await call("GET", "/api/deployments")).json[0].next_run).toBe(NOW.toISOString());
      expect((await call("POST", "/api/deployments/daily/pause")).json).toEqual({
        name: "daily",
        paused: true,
      });
      expect((await call("GET", "/api/deployments")).json[0]).toMatchObject({ paused: true, next_run: null });
      expect((await call("GET", `/api/runs/${waiting}`)).status).toBe(404);
      expect((await call("POST", "/api/deployments/daily/resume")).json).toEqual({
        name: "daily",
        paused: false,
      });
      expect((await call("GET", "/api/deployments")).json[0].paused).toBe(false);
      expect((await call("POST", "/api/deployments/nothing/pause")).status).toBe(404);
    });

    it("lists pools and queues with slots in use and queued runs; pauses and resumes a pool", async () => {
      await call("POST", "/api/deployments/daily/runs");
      const busy = (await call("POST", "/api/deployments/daily/runs")).json.id;
      await fx.transitionRuns({ ids: [busy] }, { to: "Pending", at: NOW });
      expect((await call("GET", "/api/work-pools")).json).toEqual([
        {
          name: "default",
          concurrency_limit: 2,
          paused: false,
          slots_in_use: 1,
          queued: 1,
          queues: [
            { name: "high", priority: 1, concurrency_limit: 1, slots_in_use: 1, queued: 1 },
            { name: "low", priority: 10, concurrency_limit: null, slots_in_use: 0, queued: 0 },
          ],
        },
      ]);
      expect((await call("POST", "/api/work-pools/default/pause")).json).toEqual({
        name: "default",
        paused: true,
      });
      expect((await call("GET", "/api/work-pools")).json[0].paused).toBe(true);
      expect((await call("POST", "/api/work-pools/default/resume")).json.paused).toBe(false);
      expect((await call("POST", "/api/work-pools/nothing/pause")).status).toBe(404);
    });
  });

  describe("query", () => {
    it("returns rows as JSON (ISO timestamps, numbers, dates, JSON), capped, and only reads", async () => {
      await finishedRun();
      const answer = await call("POST", "/api/query", {
        sql: "SELECT id, created_at, CAST(42 AS BIGINT) AS big, DATE '2026-03-02' AS d, parameters, 1.5 AS x FROM runs",
      });
      expect(answer.status).toBe(200);
      expect(answer.json.columns.map((c: { name: string }) => c.name)).toEqual([
        "id",
        "created_at",
        "big",
        "d",
        "parameters",
        "x",
      ]);
      expect(answer.json).toMatchObject({
        rows: [
          { created_at: "2026-03-02T14:59:00.000Z", big: 42, d: "2026-03-02", parameters: { n: 3 }, x: 1.5 },
        ],
        truncated: false,
      });
      const capped = await call("POST", "/api/query", {
        sql: "-- three of many\nSELECT * FROM (VALUES (0), (1), (2), (3), (4)) AS t(i) ORDER BY i",
        limit: 3,
      });
      expect(capped.json).toMatchObject({ rows: [{ i: 0 }, { i: 1 }, { i: 2 }], truncated: true, limit: 3 });
      const all = await call("POST", "/api/query", { sql: "SELECT 1 AS one;", limit: 1 });
      expect(all.json).toMatchObject({ rows: [{ one: 1 }], truncated: false });
      const none = await call("POST", "/api/query", { sql: "SELECT id FROM runs WHERE false" });
      expect(none.json).toMatchObject({ columns: [{ name: "id" }], rows: [], truncated: false });
      for (const sql of [
        "DELETE FROM runs",
        "UPDATE runs SET state = 'Failed'",
        "SELECT 1; SELECT 2",
        "SELECT 1; DELETE FROM runs",
        "CREATE TABLE x (i INTEGER)",
      ]) {
        const refused = await call("POST", "/api/query", { sql });
        expect({ sql, status: refused.status }).toEqual({ sql, status: 400 });
      }
      expect(await call("POST", "/api/query", { sql: "SELEC 1" })).toMatchObject({
        status: 400,
        json: { error: expect.stringMatching(/SELEC/) },
      });
      // The database's own message is the answer.
      expect((await call("POST", "/api/query", { sql: "SELECT FROM runs WHERE" })).json.error).toMatch(
        /^query failed: .*syntax/i,
      );
      expect((await call("GET", "/api/runs")).json).toHaveLength(1);
    });

    it("stops a statement at the timeout", async () => {
      const sql =
        fx.name === "duckdb" ? "SELECT count(*) FROM range(10000000000000)" : "SELECT pg_sleep(5) AS slept";
      const started = Date.now();
      const slow = await call("POST", "/api/query", { sql });
      expect(slow.status).toBe(400);
      expect(slow.json.error).toMatch(/statement timeout/);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });
}

pgDescribe("PostgreSQL: deploy and backfill through the control plane", (server) => {
  it("queues a run per past session, once", async () => {
    const fx = await pgFixture(server.url());
    try {
      const control = fx.control();
      // Registered through the control plane (PostgreSQL's registration), then again: unchanged.
      const first = await control.deploy({ deployments: [deployment(fx.dir, "daily")], pools: [POOL] });
      expect(first.map((c) => `${c.kind} ${c.name} ${c.change}`)).toContain("deployment daily added");
      const again = await control.deploy({ deployments: [deployment(fx.dir, "daily")], pools: [POOL] });
      expect(again.filter((c) => c.kind === "deployment")).toEqual([]);
      const range = { from: "2026-02-23", to: "2026-02-27", missing: false };
      const made = await control.backfill("daily", range);
      expect(made).toMatchObject({ sessions: 5, pending: 0, complete: 0 });
      expect(made.queued.map((q) => q.date)).toEqual([
        "2026-02-23",
        "2026-02-24",
        "2026-02-25",
        "2026-02-26",
        "2026-02-27",
      ]);
      // Asked again, every session already has a waiting run.
      expect(await control.backfill("daily", range)).toMatchObject({ sessions: 5, pending: 5, queued: [] });
    } finally {
      await fx.close();
    }
  });
});
