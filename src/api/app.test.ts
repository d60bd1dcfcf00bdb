/**
 * The API's routes in process: `app.request()` against a real DuckDB file through the local
 * control plane, on a fixed clock. No server, no daemon.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalControlPlane } from "../control/local.js";
import type { DeploymentRecord, WorkPoolRecord } from "../daemon/deploy.js";
import { createRuns, newRunId, RunRecorder, transitionRuns } from "../store/index.js";
import type { Store } from "../store/open.js";
import { tempStore } from "../store/testing.js";
import { createApi } from "./app.js";
import { isOwnHost } from "./serve.js";

const NOW = new Date("2026-03-02T15:00:00.000Z"); // 10:00 in New York, a Monday
const TOKEN = "a-token-of-twenty-chars";

let store: Store;
let dir: string;
let cleanup: () => Promise<void>;
let app: Hono;
let cancelled: string[];
let live: Set<string>;
let errors: string[];

function makeApp(token?: string, ownHost?: (host: string | undefined) => boolean): Hono {
  const control = new LocalControlPlane(store, {
    now: () => NOW,
    live: { has: (id) => live.has(id), cancel: (id) => cancelled.push(id) },
    queryTimeoutMs: 300,
  });
  return createApi({
    control,
    token,
    health: async () => ({ status: "ok", database: store.path }),
    metrics: async () => "tickflow_up 1\n",
    onError: (m) => errors.push(m),
    ...(ownHost ? { ownHost } : {}),
  });
}

function deployment(name: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
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
    ...extra,
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

beforeEach(async () => {
  ({ store, dir, cleanup } = await tempStore());
  cancelled = [];
  live = new Set();
  errors = [];
  writeFileSync(
    join(dir, "counted.yaml"),
    `kind: pipeline
name: counted
parameters:
  n: {type: integer, default: 1, minimum: 1}
  label: {type: string, default: x}
tasks:
  say: {uses: log, with: {message: "n=\${{ params.n }}"}}
`,
  );
  app = makeApp();
  const deployed = await call("PUT", "/api/deployments", {
    deployments: [deployment("daily")],
    pools: [POOL],
  });
  expect(deployed.status).toBe(200);
});
afterEach(async () => {
  await cleanup();
  expect(errors).toEqual([]);
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  to: Hono = app,
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON the tests pick apart field by field
): Promise<{ status: number; json: any; headers: Headers }> {
  const sendsJson = body !== undefined || !["GET", "HEAD"].includes(method);
  const response = await to.request(path, {
    method,
    headers: { ...(sendsJson ? { "content-type": "application/json" } : {}), ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // metrics: text
  }
  return { status: response.status, json, headers: response.headers };
}

/** A run that ran: Running, one task Completed with a log line, then `state`. */
async function finishedRun(state: "Completed" | "Failed" = "Completed"): Promise<string> {
  const id = newRunId(NOW.getTime() - 60_000);
  await createRuns(
    store.db,
    [
      {
        id,
        pipeline: "counted",
        deployment: "daily",
        state: "Running",
        parameters: { n: 3 },
        logical_date: "2026-02-27",
        pipeline_file: join(dir, "counted.yaml"),
        started_at: new Date(NOW.getTime() - 60_000),
      },
    ],
    new Date(NOW.getTime() - 60_000),
    "started",
  );
  const recorder = new RunRecorder(store.db, id);
  const task = {
    run_id: id,
    task_id: "say",
    step: "log",
    attempts: 1,
    started_at: new Date(NOW.getTime() - 59_000),
    ended_at: null,
    error: null,
    outputs: null,
    cache_key: null,
  };
  recorder.task({ ...task, state: "Running" }, task.started_at);
  recorder.log("say", "info", "n=3", new Date(NOW.getTime() - 58_000));
  recorder.log("say", "info", "second line", new Date(NOW.getTime() - 58_000));
  recorder.task({ ...task, state: "Completed", ended_at: NOW, outputs: { rows: 7 } }, NOW);
  await recorder.close();
  await transitionRuns(store.db, { ids: [id] }, { to: state, at: NOW, set: { ended_at: NOW } });
  return id;
}

describe("API answers", () => {
  it("JSON errors with the right status: 404, 405 with Allow, 400 for malformed input, 415, 413", async () => {
    expect(await call("GET", "/api/nothing")).toMatchObject({
      status: 404,
      json: { error: "no route GET /api/nothing" },
    });
    const wrong = await call("DELETE", "/api/runs");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toMatch(/GET/);
    expect(wrong.json.error).toMatch(/DELETE is not allowed/);
    expect((await call("GET", "/api/runs/%zz")).status).toBe(400);
    const head = await app.request("/api/runs", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await call("POST", "/api/runs/%E0%A4%A/cancel", {})).status).toBe(400);
    for (const q of ["limit=-1", "limit=1.5", "limit=0", "limit=1001", "limit=abc", "bogus=1"]) {
      const answer = await call("GET", `/api/runs?${q}`);
      expect({ q, status: answer.status }).toEqual({ q, status: 400 });
      expect(answer.json.error).toMatch(/^query: /);
    }
    const id = await finishedRun();
    expect((await call("GET", `/api/runs/${id}/logs?after_ts=garbage`)).status).toBe(400);
    expect((await call("GET", `/api/runs/${id}/logs?after_seq=1`)).status).toBe(400);
    const form = await call("POST", "/api/deployments/daily/pause", "paused=1", {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(form.status).toBe(415);
    expect((await call("POST", "/api/deployments/daily/runs", "{not json")).status).toBe(400);
    expect((await call("POST", "/api/deployments/daily/runs", [1, 2])).status).toBe(400);
    expect((await call("POST", "/api/deployments/daily/runs", { parameter: {} })).json.error).toMatch(
      /unrecognized key/i,
    );
    const big = await call("POST", "/api/query", { sql: `SELECT '${"x".repeat(1 << 20)}'` });
    expect(big.status).toBe(413);
  });

  it("requires the bearer token when one is set (the scheme in any case)", async () => {
    const guarded = makeApp(TOKEN);
    expect((await call("GET", "/api/runs", undefined, {}, guarded)).status).toBe(401);
    expect(
      (await call("GET", "/api/runs", undefined, { authorization: "Bearer wrong" }, guarded)).status,
    ).toBe(401);
    const ok = await call("GET", "/api/runs", undefined, { authorization: `bearer ${TOKEN}` }, guarded);
    expect(ok.status).toBe(200);
    expect((await call("GET", "/metrics", undefined, {}, guarded)).status).toBe(401);
  });

  it("refuses other hosts (DNS rebinding) and cross-site changes (CSRF), and lets its own pages through", async () => {
    const bind = { host: "127.0.0.1", port: 4200, names: ["tickflow.internal"] };
    const guarded = makeApp(undefined, (host) => isOwnHost(host, bind));
    const get = (host: string) => call("GET", "/api/runs", undefined, { host }, guarded);
    for (const host of [
      "127.0.0.1:4200",
      "localhost:4200",
      "[::1]:4200",
      "tickflow.internal",
      "tickflow.internal:4200",
    ]) {
      expect({ host, status: (await get(host)).status }).toEqual({ host, status: 200 });
    }
    for (const host of ["evil.example", "evil.example:4200", "127.0.0.1:9999", "127.0.0.2:4200"]) {
      const refused = await get(host);
      expect({ host, status: refused.status }).toEqual({ host, status: 403 });
      expect(refused.json.error).toMatch(/is not this daemon's address/);
    }
    const own = { host: "127.0.0.1:4200" };
    // A cross-site form or text POST (no CORS preflight) changes nothing.
    const text = await call(
      "POST",
      "/api/deployments/daily/runs",
      "{}",
      {
        ...own,
        "content-type": "text/plain",
        origin: "http://evil.example",
      },
      guarded,
    );
    expect(text.status).toBe(415);
    const form = await call(
      "POST",
      "/api/deployments/daily/pause",
      "",
      {
        ...own,
        "content-type": "application/x-www-form-urlencoded",
      },
      guarded,
    );
    expect(form.status).toBe(415);
    const crossJson = await call(
      "POST",
      "/api/deployments/daily/runs",
      {},
      { ...own, origin: "http://evil.example" },
      guarded,
    );
    expect(crossJson).toMatchObject({
      status: 403,
      json: { error: 'requests from "http://evil.example" may not change this daemon\'s state' },
    });
    expect((await call("GET", "/api/runs", undefined, own, guarded)).json).toEqual([]);
    expect((await call("GET", "/api/deployments", undefined, own, guarded)).json[0].paused).toBe(false);
    // The daemon's own page (the console) and the CLI (no Origin) may.
    const fromConsole = await call(
      "POST",
      "/api/deployments/daily/runs",
      {},
      { ...own, origin: "http://127.0.0.1:4200" },
      guarded,
    );
    expect(fromConsole.status).toBe(201);
    expect((await call("POST", "/api/deployments/daily/pause", undefined, own, guarded)).status).toBe(200);
    // Bound to every address (a token is then required), the Host is not checked.
    expect(isOwnHost("anything:1", { host: "0.0.0.0", port: 4200, names: [] })).toBe(true);
  });

  it("serves health and Prometheus text", async () => {
    expect((await call("GET", "/api/health")).json).toEqual({ status: "ok", database: store.path });
    const metrics = await app.request("/metrics");
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
    expect(await metrics.text()).toBe("tickflow_up 1\n");
  });
});

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
    expect(transitions.map((t: { task_id: string | null; state: string }) => [t.task_id, t.state])).toEqual([
      [null, "Running"],
      ["say", "Running"],
      ["say", "Completed"],
      [null, "Completed"],
    ]);
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
      pipeline_file: join(dir, "counted.yaml"),
    });
    await createRuns(
      store.db,
      [waiting("due", -5), waiting("tomorrow", 24 * 60), waiting("soon", 60)],
      at(-600),
      "scheduled",
    );
    const ids = async (query: string) => {
      const answer = await call("GET", `/api/runs${query}`);
      expect(answer.status).toBe(200);
      return answer.json.map((r: { id: string }) => r.id);
    };
    // The run started a minute ago is newer than the one due five minutes ago.
    expect(await ids("")).toEqual([ran, "due"]);
    expect(await ids("?upcoming=true")).toEqual(["soon", "tomorrow"]);
    expect(await ids("?upcoming=false&state=Scheduled")).toEqual(["due"]);
    expect(await ids(`?since=${at(-2).toISOString()}`)).toEqual([ran]);
    expect(await ids("?since=2026-03-03")).toEqual([]);
    expect((await call("GET", "/api/runs?upcoming=true&limit=1")).json[0]).toMatchObject({
      id: "soon",
      scheduled_at: "2026-03-02T16:00:00.000Z",
    });
    for (const bad of ["since=yesterday", "state=failed", "upcoming=yes"]) {
      const refused = await call("GET", `/api/runs?${bad}`);
      expect({ bad, status: refused.status }).toEqual({ bad, status: 400 });
    }
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
    await transitionRuns(store.db, { ids: [running] }, { to: "Pending", at: NOW });
    await transitionRuns(store.db, { ids: [running] }, { to: "Running", at: NOW });
    live.add(running);
    expect((await call("POST", `/api/runs/${running}/cancel`)).json).toEqual({
      id: running,
      state: "Cancelling",
    });
    expect(cancelled).toEqual([running]);
    expect((await call("GET", `/api/runs/${running}`)).json.state).toBe("Cancelling");

    const done = await finishedRun();
    const refused = await call("POST", `/api/runs/${done}/cancel`);
    expect(refused).toMatchObject({
      status: 409,
      json: { error: `run ${done} has already ended: Completed` },
    });
  });

  it("20 concurrent cancels of fresh runs all answer 202", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await call("POST", "/api/deployments/daily/runs")).json.id);
    const answers = await Promise.all(ids.map((id) => call("POST", `/api/runs/${id}/cancel`)));
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 202));
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
    });
    const transitions = (await call("GET", `/api/runs/${retry.json.id}/transitions`)).json;
    expect(transitions[0]).toMatchObject({ state: "Scheduled", message: `retry of ${failed}` });
    const again = await call("POST", `/api/runs/${retry.json.id}/retry`);
    expect(again.status).toBe(409);
  });
});

describe("deployments", () => {
  it("runs one on demand with parameters checked against the pipeline; bad ones create no run", async () => {
    const ok = await call("POST", "/api/deployments/daily/runs", {
      parameters: { label: "typed" },
      parameters_text: { n: "5" },
    });
    expect(ok.status).toBe(201);
    expect((await call("GET", `/api/runs/${ok.json.id}`)).json).toMatchObject({
      state: "Scheduled",
      parameters: { n: 5, label: "typed" },
      // 10:00 in New York on 2026-03-02 (the UTC date would agree here; see the late-evening case below)
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

  it("dates a run on demand in New York, not UTC", async () => {
    const evening = new Date("2026-03-03T02:30:00Z"); // 21:30 on 2026-03-02 in New York
    const control = new LocalControlPlane(store, { now: () => evening });
    const { id } = await control.runDeployment("daily");
    expect((await control.getRun(id)).logical_date).toBe("2026-03-02");
  });

  it("lists deployments; pauses and resumes them; registers again through PUT", async () => {
    const list = (await call("GET", "/api/deployments")).json;
    expect(list).toEqual([
      expect.objectContaining({
        name: "daily",
        pipeline: "counted",
        work_pool: "default",
        paused: false,
        next_run: null,
      }),
    ]);
    expect((await call("POST", "/api/deployments/daily/pause")).json).toEqual({
      name: "daily",
      paused: true,
    });
    expect((await call("GET", "/api/deployments")).json[0].paused).toBe(true);
    expect((await call("POST", "/api/deployments/nothing/pause")).status).toBe(404);
    const redeploy = await call("PUT", "/api/deployments", {
      deployments: [deployment("daily", { parameters: { n: 4 } }), deployment("weekly")],
      pools: [POOL],
    });
    expect(redeploy.json).toEqual([
      expect.objectContaining({ kind: "deployment", name: "daily", change: "changed" }),
      expect.objectContaining({ kind: "deployment", name: "weekly", change: "added" }),
    ]);
    expect((await call("GET", "/api/deployments")).json[0]).toMatchObject({ name: "daily", paused: true });
  });

  it("backfills past sessions within range checks", async () => {
    const made = await call("POST", "/api/deployments/daily/backfill", {
      from: "2026-02-23",
      to: "2026-02-27",
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ sessions: 5, pending: 0, complete: 0 });
    expect(made.json.queued).toHaveLength(5);
    const backwards = await call("POST", "/api/deployments/daily/backfill", {
      from: "2026-02-27",
      to: "2026-02-23",
    });
    expect(backwards.status).toBe(400);
    expect(
      (await call("POST", "/api/deployments/daily/backfill", { from: "2026-02-30", to: "2026-03-01" }))
        .status,
    ).toBe(400);
    // Outside the calendar's years: the caller's to fix, in the calendar's words.
    const early = await call("POST", "/api/deployments/daily/backfill", {
      from: "1980-01-01",
      to: "1980-02-01",
    });
    expect([early.status, early.json]).toEqual([
      400,
      { error: 'XNYS calendar: date "1980-01-01" is outside the supported range 1990-2100' },
    ]);
  });
});

describe("work pools", () => {
  it("lists pools and queues with slots in use and queued runs; pause kept across a redeploy", async () => {
    const waiting = (await call("POST", "/api/deployments/daily/runs")).json.id;
    const busy = (await call("POST", "/api/deployments/daily/runs")).json.id;
    await transitionRuns(store.db, { ids: [busy] }, { to: "Pending", at: NOW });
    const pools = (await call("GET", "/api/work-pools")).json;
    expect(pools).toEqual([
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
    expect(waiting).not.toBe(busy);
    expect((await call("POST", "/api/work-pools/default/pause")).json).toEqual({
      name: "default",
      paused: true,
    });
    await call("PUT", "/api/deployments", {
      deployments: [deployment("daily")],
      pools: [{ ...POOL, concurrencyLimit: 3 }],
    });
    expect((await call("GET", "/api/work-pools")).json[0]).toMatchObject({
      concurrency_limit: 3,
      paused: true,
    });
    expect((await call("POST", "/api/work-pools/default/resume")).json.paused).toBe(false);
    expect((await call("POST", "/api/work-pools/nothing/pause")).status).toBe(404);
  });
});

describe("query", () => {
  it("returns rows as JSON (ISO timestamps, numbers), capped, and only reads", async () => {
    await finishedRun();
    const answer = await call("POST", "/api/query", {
      sql: "SELECT id, created_at, 42::BIGINT AS big, DATE '2026-03-02' AS d FROM runs",
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      columns: [
        { name: "id", type: "VARCHAR" },
        { name: "created_at", type: "TIMESTAMP WITH TIME ZONE" },
        { name: "big", type: "BIGINT" },
        { name: "d", type: "DATE" },
      ],
      rows: [{ created_at: "2026-03-02T14:59:00.000Z", big: 42, d: "2026-03-02" }],
      truncated: false,
    });
    const capped = await call("POST", "/api/query", { sql: "SELECT * FROM range(100000)", limit: 3 });
    expect(capped.json).toMatchObject({
      rows: [{ range: 0 }, { range: 1 }, { range: 2 }],
      truncated: true,
      limit: 3,
    });
    for (const sql of [
      "DELETE FROM runs",
      "COPY runs TO '/tmp/x.csv'",
      "SELECT 1; SELECT 2",
      "ATTACH ':memory:' AS m",
      "SET threads = 1",
    ]) {
      const refused = await call("POST", "/api/query", { sql });
      expect({ sql, status: refused.status }).toEqual({ sql, status: 400 });
    }
    expect((await call("POST", "/api/query", { sql: "SELEC 1" })).json.error).toMatch(
      /^query failed: Parser Error/,
    );
    expect((await call("GET", "/api/runs")).json).toHaveLength(1);
  });

  it("stops a statement at the timeout", async () => {
    const slow = await call("POST", "/api/query", { sql: "SELECT count(*) FROM range(10000000000000)" });
    expect(slow.status).toBe(400);
    expect(slow.json.error).toMatch(/statement timeout/);
  });
});
