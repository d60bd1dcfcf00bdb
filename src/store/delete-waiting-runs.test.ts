/**
 * `deleteWaitingRuns` (DuckDB) and `deleteWaitingRunsPg` under the same assertions: only waiting
 * runs (Scheduled, Late) of the deployments or (deployment, schedule) pairs named go, with their
 * transitions.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { createRuns, deleteWaitingRuns, type NewRun, type WaitingRunsSelection } from "./create-runs.js";
import type { Store } from "./open.js";
import { createRunsPg, deleteWaitingRunsPg, migratePg, openPgPool, type PgStore } from "./pg/index.js";
import { tempStore } from "./testing.js";

interface Backend {
  create(runs: NewRun[]): Promise<unknown>;
  remove(select: WaitingRunsSelection): Promise<number>;
  /** Run ids left, and the run ids state_transitions still names, sorted. */
  left(): Promise<{ runs: string[]; transitions: string[] }>;
}

const AT = new Date("2026-01-05T09:00:00Z");

function run(id: string, deployment: string, schedule: string | null, state: NewRun["state"]): NewRun {
  return {
    id,
    pipeline: "p",
    deployment,
    state,
    parameters: {},
    logical_date: null,
    pipeline_file: null,
    schedule_id: schedule,
    scheduled_at: AT,
  };
}

function deleteWaitingTests(backend: () => Backend): void {
  it("deletes waiting runs of deployments or of schedules, with their transitions, and nothing else", async () => {
    const b = backend();
    await b.create([
      run("a-s1", "a", "s1", "Scheduled"),
      run("a-s2", "a", "s2", "Late"),
      run("a-run", "a", "s1", "Running"),
      run("b-s1", "b", "s1", "Scheduled"),
      run("b-s2", "b", "s2", "Scheduled"),
      run("b-none", "b", null, "Scheduled"),
      run("c-s1", "c", "s1", "Late"),
    ]);
    expect(await b.remove({})).toBe(0);
    expect(await b.remove({ schedules: [{ deployment: "b", id: "s1" }] })).toBe(1);
    expect(await b.remove({ deployments: ["a"], schedules: [{ deployment: "c", id: "s2" }] })).toBe(2);
    const left = await b.left();
    expect(left.runs).toEqual(["a-run", "b-none", "b-s2", "c-s1"]);
    expect(left.transitions).toEqual(left.runs);
  });
}

describe("deleteWaitingRuns on DuckDB", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });
  const ids = async (sql: string) => (await store.db.runAndReadAll(sql)).getRows().map((r) => String(r[0]));
  deleteWaitingTests(() => ({
    create: (runs) => createRuns(store.db, runs, AT, "made"),
    remove: (select) => deleteWaitingRuns(store.db, select),
    left: async () => ({
      runs: await ids("SELECT id FROM runs ORDER BY id"),
      transitions: await ids("SELECT DISTINCT run_id FROM state_transitions ORDER BY run_id"),
    }),
  }));
});

pgDescribe("deleteWaitingRunsPg", (server) => {
  let pg: PgStore;
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
  });
  afterAll(() => pg?.close());
  const ids = async (sql: string) => (await pg.pool.query(sql)).rows.map((r) => String(Object.values(r)[0]));
  deleteWaitingTests(() => ({
    create: (runs) => createRunsPg(pg.pool, runs, AT, "made"),
    remove: (select) => deleteWaitingRunsPg(pg.pool, select),
    left: async () => ({
      runs: await ids(`SELECT id FROM runs ORDER BY id COLLATE "C"`),
      transitions: await ids(
        `SELECT DISTINCT run_id COLLATE "C" AS run_id FROM state_transitions ORDER BY 1`,
      ),
    }),
  }));
});
