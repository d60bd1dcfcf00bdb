/**
 * Cancelling an ingestion through the real CLI: a 300-symbol Polygon-format ingestion from a
 * 127.0.0.1 server, signalled once 20 symbols were served (with a request stalled in flight, too).
 * The process exits within 2 s with 130 (SIGINT) or 143 (SIGTERM), the run is Cancelled, and no
 * symbol is partly written. A `tickflow run` killed with -9 leaves a run that the next process to
 * open the file marks Crashed.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, tempDir, tickflow } from "./helpers/cli.js";
import { type ManySymbols, SESSIONS, startManySymbols } from "./servers/many-symbols.js";

let many: ManySymbols;
let dir: string;
let cleanup: () => Promise<void>;
let pipeline: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  many = await startManySymbols();
  pipeline = join(dir, "ingest.yaml");
  writeFileSync(pipeline, many.pipeline("big-ingest"));
});
afterAll(async () => {
  await many.server.close();
  await cleanup();
});

/** Starts `tickflow run`, sends `signal` once 20 symbols were served; the exit code and how long it took. */
async function runAndSignal(
  db: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; ms: number }> {
  const served = many.server.requests.length;
  const child = spawn(process.execPath, [join(REPO, "bin/tickflow.js"), "run", pipeline, "--db", db], {
    env: { ...process.env, POLYGON_API_KEY: "k-cancel-test-123456", NO_COLOR: "1" },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  for (let i = 0; i < 600 && many.server.requests.length - served < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(many.server.requests.length - served, stderr).toBeGreaterThanOrEqual(20);
  const sentAt = Date.now();
  child.kill(signal);
  const code = await exited;
  return { code, ms: Date.now() - sentAt };
}

async function queryJson<T>(db: string, sql: string): Promise<T[]> {
  const r = await tickflow(["query", "--db", db, "--json", sql]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T[];
}

/** Every symbol landed whole (all its sessions) or not at all. */
async function partialSymbols(db: string): Promise<unknown[]> {
  return queryJson(
    db,
    `SELECT symbol, count(*) AS n FROM bars_daily GROUP BY symbol HAVING count(*) <> ${SESSIONS.length}`,
  );
}

describe("cancelling tickflow run mid-ingestion", () => {
  it("SIGINT: exit 130 within 2 s, the run Cancelled, nothing partial", async () => {
    many.stall = false;
    const db = join(dir, "int.duckdb");
    const { code, ms } = await runAndSignal(db, "SIGINT");
    expect(code).toBe(130);
    expect(ms).toBeLessThan(2000);
    expect(await queryJson(db, "SELECT state FROM runs")).toEqual([{ state: "Cancelled" }]);
    expect(await queryJson(db, "SELECT state FROM task_runs")).toEqual([{ state: "Cancelled" }]);
    expect(await partialSymbols(db)).toEqual([]);
  });

  it("SIGTERM with a request stalled in flight: exit 143 within 2 s, nothing partial", async () => {
    many.stall = true;
    const db = join(dir, "term.duckdb");
    const { code, ms } = await runAndSignal(db, "SIGTERM");
    expect(code).toBe(143);
    expect(ms).toBeLessThan(2000);
    expect(await queryJson(db, "SELECT state FROM runs")).toEqual([{ state: "Cancelled" }]);
    expect(await partialSymbols(db)).toEqual([]);
  });

  it("kill -9: the next process to open the file marks the run Crashed; cancel then says so", async () => {
    many.stall = false;
    const db = join(dir, "kill.duckdb");
    await runAndSignal(db, "SIGKILL");
    const id = (await queryJson<{ id: string }>(db, "SELECT id FROM runs"))[0]!.id;
    // A read-only look does not change it; the next writer does.
    expect(await queryJson(db, "SELECT state FROM runs")).toEqual([{ state: "Running" }]);
    const cancel = await tickflow(["runs", "cancel", id, "--db", db]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toBe(`tickflow: run ${id} has already ended: Crashed\n`);
    expect(await queryJson(db, "SELECT state, error FROM runs")).toEqual([
      {
        state: "Crashed",
        error: "crashed: its process ended while it ran (found when the database was next opened)",
      },
    ]);
    // Its task, if its Running state was flushed before the kill, ended with it.
    expect(await queryJson(db, "SELECT state FROM task_runs WHERE state <> 'Crashed'")).toEqual([]);
    expect(await partialSymbols(db)).toEqual([]);
  });
});
