/**
 * A run's state on both backends under the same assertions: creation (new ids once, a first
 * transition each), guarded transitions along the table, crashes (the run and its unfinished
 * tasks), lease renewal by the holder only, the recorder's check of task moves. DuckDB's own:
 * concurrent transitions on one shared connection, `runsWithoutHolder` (every slot-holding run at
 * open, runs this process executes left out). PostgreSQL's own: identical moves racing on several
 * connections, `expiredLeasesPg`. Claims: `src/daemon/claims.test.ts`; deleting waiting runs:
 * `delete-waiting-runs.test.ts`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { crashRuns } from "./crash-runs.js";
import type { NewRun } from "./create-runs.js";
import { newRunId } from "./ids.js";
import { renewLeases, runsWithoutHolder } from "./leases.js";
import type { Store } from "./open.js";
import {
  crashRunsPg,
  expiredLeasesPg,
  migratePg,
  openPgPool,
  type PgStore,
  renewLeasesPg,
  transitionRunsPg,
} from "./pg/index.js";
import { type RunSelector, type RunTransition, transitionRuns } from "./run-transitions.js";
import type { TaskRunRow } from "./runs.js";
import { RUN_STATES, RUN_TRANSITIONS, type RunState, runStatesInto } from "./states.js";
import { tempStore } from "./testing.js";
import { duckHistory, type HistoryBackend, pgHistory } from "./testing-history.js";

/** The run history of a backend, with its run-state operations. */
interface RunStateBackend extends HistoryBackend {
  transitionRuns(select: RunSelector, change: RunTransition): Promise<string[]>;
  crashRuns(ids: readonly string[], at: Date, message: string): Promise<string[]>;
  renewLeases(owner: string, ids: readonly string[], until: Date): Promise<string[]>;
}

function duckRunState(store: Store): RunStateBackend {
  return {
    ...duckHistory(store),
    transitionRuns: (select, change) => transitionRuns(store.db, select, change),
    crashRuns: (ids, at, message) => crashRuns(store.db, ids, at, message),
    renewLeases: (owner, ids, until) => renewLeases(store.db, owner, ids, until),
  };
}

function pgRunState(pg: PgStore): RunStateBackend {
  return {
    ...pgHistory(pg),
    transitionRuns: (select, change) => transitionRunsPg(pg.pool, select, change),
    crashRuns: (ids, at, message) => crashRunsPg(pg.pool, ids, at, message),
    renewLeases: (owner, ids, until) => renewLeasesPg(pg.pool, owner, ids, until),
  };
}

const t0 = new Date("2026-03-02T14:30:00.000Z");
const later = (ms: number) => new Date(t0.getTime() + ms);

function queued(id: string, overrides: Partial<NewRun> = {}): NewRun {
  return {
    id,
    pipeline: "p",
    deployment: "d",
    state: "Scheduled",
    parameters: { n: 1 },
    logical_date: "2026-03-02",
    pipeline_file: "/x/p.yaml",
    scheduled_at: t0,
    ...overrides,
  };
}

/** Puts a run into `state` by the shortest path of allowed transitions from Scheduled. */
async function driveTo(b: RunStateBackend, id: string, state: RunState): Promise<void> {
  const path: Record<RunState, RunState[]> = {
    Scheduled: [],
    Late: ["Late"],
    Pending: ["Pending"],
    Running: ["Pending", "Running"],
    Cancelling: ["Pending", "Running", "Cancelling"],
    Completed: ["Pending", "Running", "Completed"],
    Failed: ["Pending", "Running", "Failed"],
    Crashed: ["Pending", "Crashed"],
    Cancelled: ["Cancelled"],
  };
  for (const to of path[state]) {
    expect(await b.transitionRuns({ ids: [id] }, { to, at: t0 })).toEqual([id]);
  }
}

/** Runs taken by `owner` (Pending) with leases until `until`. */
async function leased(b: RunStateBackend, ids: string[], owner: string, until: Date): Promise<void> {
  await b.createRuns(
    ids.map((id) => queued(id)),
    t0,
    "made",
  );
  expect(
    await b.transitionRuns(
      { ids },
      { to: "Pending", at: t0, set: { lease_owner: owner, lease_expires_at: until } },
    ),
  ).toHaveLength(ids.length);
}

describe("run state on DuckDB", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });
  runStateTests(() => duckRunState(store));

  it("4 concurrent transitions on one connection write exactly 4 rows, 20 trials out of 20", async () => {
    const b = duckRunState(store);
    for (let trial = 0; trial < 20; trial++) {
      const ids = [newRunId(), newRunId(), newRunId(), newRunId()];
      await b.createRuns(
        ids.map((id) => queued(id)),
        t0,
        "made",
      );
      const moved = await Promise.all(
        ids.map((id) =>
          transitionRuns(store.db, { ids: [id] }, { to: "Cancelled", at: later(trial), message: "x" }),
        ),
      );
      expect(moved.flat().sort()).toEqual([...ids].sort());
      const written = await b.count(
        `SELECT count(*) FROM state_transitions WHERE state = 'Cancelled' AND run_id IN ('${ids.join("','")}')`,
      );
      expect(written).toBe(4);
    }
  });

  it("runsWithoutHolder: runs whose lease ran out, leaving live and renewed ones; every slot-holding run at open", async () => {
    const b = duckRunState(store);
    const [a, bb, c] = [newRunId(), newRunId(), newRunId()];
    await leased(b, [a, bb, c], "w", later(1000));
    await renewLeases(store.db, "w", [bb], later(5000));
    expect((await runsWithoutHolder(store.db, later(2000), { all: false })).sort()).toEqual([a, c].sort());
    expect(await runsWithoutHolder(store.db, later(2000), { all: false, live: new Set([a]) })).toEqual([c]);
    expect((await runsWithoutHolder(store.db, t0, { all: true })).sort()).toEqual([a, bb, c].sort());
  });
});

pgDescribe("run state on PostgreSQL", (server) => {
  let pg: PgStore;
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
  });
  afterAll(() => pg?.close());
  beforeEach(async () => {
    await pg.pool.query("TRUNCATE runs, state_transitions, task_runs, run_logs");
  });
  runStateTests(() => pgRunState(pg));

  it("of identical moves racing on 4 connections, one moves the runs: its lease owner's", async () => {
    const b = pgRunState(pg);
    const [a, c] = [newRunId(), newRunId()];
    await b.createRuns([queued(a), queued(c)], t0, "made");
    const race = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        b.transitionRuns({ ids: [a, c] }, { to: "Pending", at: later(1), set: { lease_owner: `w${i}` } }),
      ),
    );
    expect(race.filter((moved) => moved.length > 0).map((moved) => moved.sort())).toEqual([[a, c].sort()]);
    const winner = `w${race.findIndex((moved) => moved.length > 0)}`;
    expect(await b.count(`SELECT count(*) FROM runs WHERE lease_owner = '${winner}'`)).toBe(2);
    expect(await b.count("SELECT count(*) FROM state_transitions")).toBe(4);
  });

  it("expiredLeasesPg: slot-holding runs whose lease ran out or that have none, not renewed or ended ones", async () => {
    const b = pgRunState(pg);
    const [a, renewed, none, ended] = [newRunId(), newRunId(), newRunId(), newRunId()];
    await leased(b, [a, renewed, none, ended], "w", later(1000));
    await b.renewLeases("w", [renewed], later(5000));
    await b.exec("UPDATE runs SET lease_expires_at = NULL WHERE id = $1", [none]);
    await b.transitionRuns({ ids: [ended] }, { to: "Crashed", at: t0 });
    expect((await expiredLeasesPg(pg.pool, later(2000))).sort()).toEqual([a, none].sort());
    expect(await expiredLeasesPg(pg.pool, t0)).toEqual([none]);
  });
});

describe("the transition table", () => {
  it("knows every state: each is reachable from an initial one, and final ones lead nowhere", () => {
    const reachable = new Set<RunState>(["Scheduled", "Late", "Running"]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const from of [...reachable])
        for (const to of RUN_TRANSITIONS[from])
          if (!reachable.has(to)) {
            reachable.add(to);
            grew = true;
          }
    }
    expect([...reachable].sort()).toEqual([...RUN_STATES].sort());
    for (const final of ["Completed", "Failed", "Crashed", "Cancelled"] as const) {
      expect(RUN_TRANSITIONS[final]).toEqual([]);
    }
    expect(runStatesInto("Cancelled")).toEqual(["Scheduled", "Late", "Pending", "Running", "Cancelling"]);
  });
});

/** The assertions both backends meet. */
function runStateTests(backend: () => RunStateBackend): void {
  const b = () => backend();
  const count = (sql: string) => backend().count(sql);

  describe("createRuns", () => {
    it("inserts new ids once, each with its first transition, and skips taken ones", async () => {
      const ids = [newRunId(), newRunId()];
      expect(
        await b().createRuns(
          ids.map((id) => queued(id)),
          t0,
          "made",
        ),
      ).toEqual(ids);
      // Offered again (a repeated scheduler pass), with one new run and a duplicate within the batch.
      const third = newRunId();
      const again = [queued(ids[0]!), queued(third, { state: "Late" }), queued(third, { state: "Late" })];
      expect(await b().createRuns(again, later(1), "again")).toEqual([third]);
      expect(await count("SELECT count(*) FROM runs")).toBe(3);
      expect(await count("SELECT count(*) FROM state_transitions")).toBe(3);
      const run = await b().findRun(third);
      expect(run).toMatchObject({
        state: "Late",
        parameters: { n: 1 },
        logical_date: "2026-03-02",
        pipeline_file: "/x/p.yaml",
        scheduled_at: t0,
      });
      expect((await b().transitionsOf(third)).map((t) => [t.state, t.message])).toEqual([["Late", "again"]]);
    });

    it("refuses a state a run cannot start in", async () => {
      await expect(
        b().createRuns([queued(newRunId(), { state: "Completed" as "Scheduled" })], t0, "x"),
      ).rejects.toThrow(/cannot be created Completed/);
      expect(await count("SELECT count(*) FROM runs")).toBe(0);
    });
  });

  describe("transitionRuns", () => {
    it("moves a run only along the transition table, recording each move once", async () => {
      for (const from of RUN_STATES) {
        for (const to of RUN_STATES) {
          const id = newRunId();
          await b().createRuns([queued(id)], t0, "made");
          await driveTo(b(), id, from);
          const before = await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${id}'`);
          const moved = await b().transitionRuns({ ids: [id] }, { to, at: later(5), message: "m" });
          const allowed = RUN_TRANSITIONS[from].includes(to);
          expect({ from, to, moved: moved.length }).toEqual({ from, to, moved: allowed ? 1 : 0 });
          expect((await b().findRun(id))?.state).toBe(allowed ? to : from);
          const after = await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${id}'`);
          expect(after - before).toBe(allowed ? 1 : 0);
        }
      }
    });

    it("narrows by `from`, sets the columns it is given and selects by lease owner", async () => {
      const [a, c] = [newRunId(), newRunId()];
      await b().createRuns([queued(a), queued(c)], t0, "made");
      const until = later(60_000);
      expect(
        await b().transitionRuns(
          { ids: [a, c] },
          { to: "Pending", from: ["Late"], at: t0, set: { lease_owner: "w1" } },
        ),
      ).toEqual([]);
      const taken = await b().transitionRuns(
        { ids: [a] },
        {
          to: "Pending",
          at: t0,
          message: "taken by w1",
          set: { lease_owner: "w1", lease_expires_at: until },
        },
      );
      expect(taken).toEqual([a]);
      expect(await b().rows(`SELECT lease_owner, lease_expires_at FROM runs WHERE id = '${a}'`)).toEqual([
        { lease_owner: "w1", lease_expires_at: until },
      ]);
      expect(await b().transitionRuns({ leaseOwner: "nobody" }, { to: "Scheduled", at: later(1) })).toEqual(
        [],
      );
      const handedBack = await b().transitionRuns(
        { leaseOwner: "w1" },
        { to: "Scheduled", at: later(1), set: { lease_owner: null, lease_expires_at: null } },
      );
      expect(handedBack).toEqual([a]);
      expect(
        await b().rows(`SELECT state, lease_owner, lease_expires_at FROM runs WHERE id = '${a}'`),
      ).toEqual([{ state: "Scheduled", lease_owner: null, lease_expires_at: null }]);
      expect((await b().transitionsOf(a)).map((t) => [t.state, t.message])).toEqual([
        ["Scheduled", "made"],
        ["Pending", "taken by w1"],
        ["Scheduled", null],
      ]);
      await expect(b().transitionRuns({}, { to: "Failed", at: t0 })).rejects.toThrow(/select runs/);
    });

    it("of 4 concurrent identical moves of one run, exactly one happens", async () => {
      const id = newRunId();
      await b().createRuns([queued(id)], t0, "made");
      const moved = await Promise.all(
        [1, 2, 3, 4].map(() => b().transitionRuns({ ids: [id] }, { to: "Pending", at: t0 })),
      );
      expect(moved.flat()).toEqual([id]);
      expect(await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${id}'`)).toBe(2);
    });
  });

  describe("crashRuns and leases", () => {
    it("crashes a run and its unfinished tasks; one that ended meanwhile is left alone", async () => {
      const [running, done] = [newRunId(), newRunId()];
      await b().createRuns([queued(running), queued(done)], t0, "made");
      await driveTo(b(), running, "Running");
      await driveTo(b(), done, "Completed");
      const recorder = await b().recorder(running);
      const task = (id: string, state: TaskRunRow["state"]): TaskRunRow => ({
        run_id: running,
        task_id: id,
        step: "log",
        state,
        attempts: 1,
        started_at: t0,
        ended_at: null,
        error: null,
        outputs: null,
        cache_key: null,
      });
      recorder.task(task("ok", "Running"), t0);
      recorder.task(task("ok", "Completed"), t0);
      recorder.task(task("busy", "Running"), t0);
      await recorder.close();

      const crashed = await b().crashRuns([running, done], later(10), "its process died");
      expect(crashed).toEqual([running]);
      expect(await b().findRun(running)).toMatchObject({ state: "Crashed", error: "its process died" });
      expect((await b().findRun(done))?.state).toBe("Completed");
      expect((await b().taskRunsOf(running)).map((t) => [t.task_id, t.state])).toEqual([
        ["busy", "Crashed"],
        ["ok", "Completed"],
      ]);
      const transitions = await b().transitionsOf(running);
      expect(transitions.filter((t) => t.state === "Crashed").map((t) => t.task_id)).toEqual(["busy", null]);
    });

    it("renews leases only for their holder, and only of runs still holding a slot", async () => {
      const [a, c, ended] = [newRunId(), newRunId(), newRunId()];
      await leased(b(), [a, c, ended], "w", later(1000));
      await b().transitionRuns({ ids: [ended] }, { to: "Crashed", at: t0 });
      expect(await b().renewLeases("w", [a, ended], later(5000))).toEqual([a]);
      expect(await b().renewLeases("someone else", [c], later(5000))).toEqual([]);
      expect(await b().renewLeases("w", [], later(5000))).toEqual([]);
      const leases = await b().rows(
        `SELECT id, lease_expires_at FROM runs WHERE id IN ('${a}', '${c}', '${ended}') ORDER BY id`,
      );
      expect(Object.fromEntries(leases.map((r) => [r.id, r.lease_expires_at]))).toEqual({
        [a]: later(5000),
        [c]: later(1000),
        [ended]: later(1000),
      });
    });
  });

  describe("RunRecorder's transition check", () => {
    it("refuses a task state change the table does not allow", async () => {
      const runId = newRunId();
      const recorder = await b().recorder(runId);
      const row: TaskRunRow = {
        run_id: runId,
        task_id: "t",
        step: "log",
        state: "Completed",
        attempts: 1,
        started_at: t0,
        ended_at: t0,
        error: null,
        outputs: {},
        cache_key: null,
      };
      expect(() => recorder.task(row, t0)).toThrow(/cannot go from Pending to Completed/);
      recorder.task({ ...row, state: "Running" }, t0);
      recorder.task(row, t0);
      expect(() => recorder.task({ ...row, state: "Running" }, t0)).toThrow(/from Completed to Running/);
      await recorder.close();
    });
  });
}
