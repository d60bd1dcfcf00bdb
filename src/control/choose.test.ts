/**
 * Which control plane a command gets, and that the two give the same answers: a real database, a
 * real API server on 127.0.0.1 (in this process), and for the lock a real second process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApi } from "../api/app.js";
import { type ServedApi, serveApi } from "../api/serve.js";
import { createRuns, newRunId, openStore, RunRecorder, type Store } from "../store/index.js";
import { tempDir } from "../store/testing.js";
import { openControlPlane } from "./choose.js";
import type { ControlPlane } from "./control-plane.js";
import { LocalControlPlane } from "./local.js";

let dir: string;
let removeDir: () => void;
let served: { store: Store; api: ServedApi } | undefined;
const opened: ControlPlane[] = [];
let locker: ChildProcess | undefined;

beforeEach(() => {
  ({ dir, cleanup: removeDir } = tempDir());
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  if (served) {
    await served.api.close();
    await served.store.close();
    served = undefined;
  }
  locker?.kill("SIGKILL");
  locker = undefined;
  removeDir();
});

/** A daemon's API over the database at `path` (this process holds it), on a free port. */
async function serveDaemon(path: string): Promise<{ port: number; store: Store }> {
  const store = await openStore(path);
  const control = new LocalControlPlane(store);
  const app = createApi({
    control,
    token: undefined,
    health: async () => ({ status: "ok", database: store.path }),
    metrics: async () => "",
    onError: () => {},
  });
  const api = await serveApi(app, { host: "127.0.0.1", port: 0, token: undefined });
  served = { store, api };
  return { port: api.port, store };
}

async function open(env: NodeJS.ProcessEnv, options: { db?: string; write?: boolean } = {}) {
  const control = await openControlPlane({ ...options, write: options.write ?? false, env });
  opened.push(control);
  return control;
}

/** A run with a task and log lines, written the way the engine writes them. */
async function seedRun(store: Store): Promise<string> {
  const id = newRunId();
  const at = new Date("2026-03-02T15:00:00.123Z");
  await createRuns(
    store.db,
    [
      {
        id,
        pipeline: "p",
        deployment: null,
        state: "Running",
        parameters: { n: 1 },
        logical_date: "2026-03-02",
        pipeline_file: "/x/p.yaml",
        started_at: at,
      },
    ],
    at,
    "started",
  );
  const recorder = new RunRecorder(store.db, id);
  const row = {
    run_id: id,
    task_id: "t",
    step: "log",
    state: "Running" as const,
    attempts: 1,
    started_at: at,
    ended_at: null,
    error: null,
    outputs: null,
    cache_key: null,
  };
  recorder.task(row, at);
  recorder.log("t", "info", "hello", at);
  await recorder.close();
  return id;
}

/** Holds a DuckDB file from another process, as a daemon or a running `tickflow run` does. */
async function lockFromAnotherProcess(path: string): Promise<void> {
  const script = `import { DuckDBInstance } from "@duckdb/node-api";
    const instance = await DuckDBInstance.create(${JSON.stringify(path)});
    await instance.connect();
    process.stdout.write("held\\n");
    setInterval(() => {}, 1000);`;
  locker = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    locker!.stdout!.once("data", () => resolve());
    locker!.once("exit", (code) => reject(new Error(`locker exited ${code}`)));
  });
}

describe("openControlPlane", () => {
  it("with TICKFLOW_API_URL set, always the API", async () => {
    const control = await open({ TICKFLOW_API_URL: "http://127.0.0.1:9" });
    expect(control.target).toEqual({ kind: "daemon", url: "http://127.0.0.1:9" });
  });

  it("from a folder with no database, the daemon that answers on this machine; else the database", async () => {
    const elsewhere = join(dir, "elsewhere", "t.duckdb");
    const { port, store } = await serveDaemon(elsewhere);
    const id = await seedRun(store);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const control = await open({ TICKFLOW_API_PORT: String(port) });
      expect(control.target).toEqual({ kind: "daemon", url: `http://127.0.0.1:${port}` });
      expect((await control.listRuns()).map((r) => r.id)).toEqual([id]);
      // No daemon there: the database here (missing, so a read says so).
      const none = await open({ TICKFLOW_API_PORT: "9" }, { write: true });
      expect(none.target).toEqual({ kind: "database", path: join(dir, "tickflow.duckdb") });
      await expect(open({ TICKFLOW_API_PORT: "9" }, { db: join(dir, "missing.duckdb") })).rejects.toThrow(
        /does not exist/,
      );
    } finally {
      process.chdir(cwd);
    }
  });

  it("a database nobody holds: the database, even with a daemon up elsewhere", async () => {
    const mine = join(dir, "mine.duckdb");
    (await openStore(mine)).close();
    const { port } = await serveDaemon(join(dir, "other.duckdb"));
    const control = await open({ TICKFLOW_DB: mine, TICKFLOW_API_PORT: String(port) });
    expect(control.target).toEqual({ kind: "database", path: mine });
  });

  it("a database held by another process: its daemon's API, or a clear refusal", async () => {
    const held = join(dir, "held.duckdb");
    (await openStore(held)).close();
    await lockFromAnotherProcess(held);
    await expect(open({ TICKFLOW_API_PORT: "9" }, { db: held })).rejects.toThrow(
      /held\.duckdb is in use by another process \(PID \d+.*no daemon answers at http:\/\/127\.0\.0\.1:9/,
    );
    const { port } = await serveDaemon(join(dir, "other.duckdb"));
    await expect(open({ TICKFLOW_API_PORT: String(port) }, { db: held })).rejects.toThrow(
      /serves .*other\.duckdb, not it/,
    );
  });
});

describe("the two control planes", () => {
  it("answer every read alike (the API's JSON revived to the store's types)", async () => {
    const path = join(dir, "same.duckdb");
    const { port, store } = await serveDaemon(path);
    const id = await seedRun(store);
    const local = new LocalControlPlane(store);
    const http = await open({ TICKFLOW_API_URL: `http://127.0.0.1:${port}` });
    expect(await http.listRuns()).toEqual(await local.listRuns());
    for (const filter of [
      { state: "Running" as const, since: new Date("2026-03-02T14:00:00Z") },
      { upcoming: true },
    ]) {
      expect(await http.listRuns(filter)).toEqual(await local.listRuns(filter));
    }
    expect(await http.getRun(id.slice(0, 25))).toEqual(await local.getRun(id));
    expect(await http.runTransitions(id)).toEqual(await local.runTransitions(id));
    const logs = await local.runLogs(id);
    expect(await http.runLogs(id)).toEqual(logs);
    expect(await http.runLogs(id, { after: logs[0]! })).toEqual([]);
    expect(await http.listDeployments()).toEqual(await local.listDeployments());
    expect(await http.listWorkPools()).toEqual(await local.listWorkPools());
    const sql = "SELECT id, created_at, parameters FROM runs";
    expect(await http.query(sql)).toEqual(await local.query(sql));
    // Streamed: the database a chunk at a time, the API its one capped answer; the same rows.
    const gather = async (chunks: AsyncIterable<{ rows: unknown[] }>) => {
      const rows = [];
      for await (const chunk of chunks) rows.push(...chunk.rows);
      return rows;
    };
    const range = "SELECT range AS n FROM range(5000)";
    expect(await gather(http.queryChunks(range))).toEqual(await gather(local.queryChunks(range)));
    await expect(gather(http.queryChunks(range, { limit: 0 }))).rejects.toMatchObject({ status: 400 });
    expect(await gather(local.queryChunks(range, { limit: 0 }))).toHaveLength(5000);
    await expect(http.getRun("nope")).rejects.toMatchObject({
      status: 404,
      message: 'no run with id "nope"',
    });
    await expect(local.getRun("nope")).rejects.toMatchObject({
      status: 404,
      message: 'no run with id "nope"',
    });
  });
});
