import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { crashRuns } from "./crash-runs.js";
import { createRuns, deleteWaitingRuns, type NewRun } from "./create-runs.js";
import { newRunId } from "./ids.js";
import { renewLeases, runsWithoutHolder } from "./leases.js";
import type { Store } from "./open.js";
import { RunRecorder } from "./recorder.js";
import { transitionRuns } from "./run-transitions.js";
import { findRun, type TaskRunRow, taskRunsOf, transitionsOf } from "./runs.js";
import { RUN_STATES, RUN_TRANSITIONS, type RunState, runStatesInto } from "./states.js";
import { tempStore } from "./testing.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

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

async function count(sql: string): Promise<number> {
  return Number((await store.db.runAndReadAll(sql)).getRows()[0]?.[0]);
}

/** Puts a run into `state` by the shortest path of allowed transitions from Scheduled. */
async function driveTo(id: string, state: RunState): Promise<void> {
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
    expect(await transitionRuns(store.db, { ids: [id] }, { to, at: t0 })).toEqual([id]);
  }
}

describe("createRuns", () => {
  it("inserts new ids once, each with its first transition, and skips taken ones", async () => {
    const ids = [newRunId(), newRunId()];
    expect(
      await createRuns(
        store.db,
        ids.map((id) => queued(id)),
        t0,
        "made",
      ),
    ).toEqual(ids);
    // Offered again (a repeated scheduler pass), with one new run and a duplicate within the batch.
    const third = newRunId();
    const again = [queued(ids[0]!), queued(third, { state: "Late" }), queued(third, { state: "Late" })];
    expect(await createRuns(store.db, again, later(1), "again")).toEqual([third]);
    expect(await count("SELECT count(*) FROM runs")).toBe(3);
    expect(await count("SELECT count(*) FROM state_transitions")).toBe(3);
    const run = await findRun(store.db, third);
    expect(run).toMatchObject({ state: "Late", parameters: { n: 1 }, logical_date: "2026-03-02" });
    expect((await transitionsOf(store.db, third)).map((t) => [t.state, t.message])).toEqual([
      ["Late", "again"],
    ]);
  });

  it("refuses a state a run cannot start in", async () => {
    await expect(
      createRuns(store.db, [queued(newRunId(), { state: "Completed" as "Scheduled" })], t0, "x"),
    ).rejects.toThrow(/cannot be created Completed/);
    expect(await count("SELECT count(*) FROM runs")).toBe(0);
  });
});

describe("transitionRuns", () => {
  it("moves a run only along the transition table, recording each move once", async () => {
    for (const from of RUN_STATES) {
      for (const to of RUN_STATES) {
        const id = newRunId();
        await createRuns(store.db, [queued(id)], t0, "made");
        await driveTo(id, from);
        const before = await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${id}'`);
        const moved = await transitionRuns(store.db, { ids: [id] }, { to, at: later(5), message: "m" });
        const allowed = RUN_TRANSITIONS[from].includes(to);
        expect({ from, to, moved: moved.length }).toEqual({ from, to, moved: allowed ? 1 : 0 });
        expect((await findRun(store.db, id))?.state).toBe(allowed ? to : from);
        const after = await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${id}'`);
        expect(after - before).toBe(allowed ? 1 : 0);
      }
    }
  });

  it("narrows by `from`, sets the columns it is given and selects by lease owner", async () => {
    const [a, b] = [newRunId(), newRunId()];
    await createRuns(store.db, [queued(a), queued(b)], t0, "made");
    const until = later(60_000);
    expect(
      await transitionRuns(
        store.db,
        { ids: [a, b] },
        { to: "Pending", from: ["Late"], at: t0, set: { lease_owner: "w1" } },
      ),
    ).toEqual([]);
    const taken = await transitionRuns(
      store.db,
      { ids: [a] },
      { to: "Pending", at: t0, message: "taken by w1", set: { lease_owner: "w1", lease_expires_at: until } },
    );
    expect(taken).toEqual([a]);
    const handedBack = await transitionRuns(
      store.db,
      { leaseOwner: "w1" },
      { to: "Scheduled", at: later(1), set: { lease_owner: null, lease_expires_at: null } },
    );
    expect(handedBack).toEqual([a]);
    const rows = await store.db.runAndReadAll(
      `SELECT state, lease_owner, lease_expires_at FROM runs WHERE id = '${a}'`,
    );
    expect(rows.getRows()[0]).toEqual(["Scheduled", null, null]);
    expect((await transitionsOf(store.db, a)).map((t) => t.state)).toEqual([
      "Scheduled",
      "Pending",
      "Scheduled",
    ]);
    await expect(transitionRuns(store.db, {}, { to: "Failed", at: t0 })).rejects.toThrow(/select runs/);
  });

  it("4 concurrent transitions on one connection write exactly 4 rows, 20 trials out of 20", async () => {
    for (let trial = 0; trial < 20; trial++) {
      const ids = [newRunId(), newRunId(), newRunId(), newRunId()];
      await createRuns(
        store.db,
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
      const written = await count(
        `SELECT count(*) FROM state_transitions WHERE state = 'Cancelled' AND run_id IN ('${ids.join("','")}')`,
      );
      expect(written).toBe(4);
    }
  });

  it("of 4 concurrent identical moves of one run, exactly one happens", async () => {
    const id = newRunId();
    await createRuns(store.db, [queued(id)], t0, "made");
    const moved = await Promise.all(
      [1, 2, 3, 4].map(() => transitionRuns(store.db, { ids: [id] }, { to: "Pending", at: t0 })),
    );
    expect(moved.flat()).toEqual([id]);
    expect(await count(`SELECT count(*) FROM state_transitions WHERE run_id = '${id}'`)).toBe(2);
  });

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

describe("crashRuns and leases", () => {
  it("crashes a run and its unfinished tasks; one that ended meanwhile is left alone", async () => {
    const [running, done] = [newRunId(), newRunId()];
    await createRuns(store.db, [queued(running), queued(done)], t0, "made");
    await driveTo(running, "Running");
    await driveTo(done, "Completed");
    const recorder = new RunRecorder(store.db, running);
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

    const crashed = await crashRuns(store.db, [running, done], later(10), "its process died");
    expect(crashed).toEqual([running]);
    expect(await findRun(store.db, running)).toMatchObject({ state: "Crashed", error: "its process died" });
    expect((await findRun(store.db, done))?.state).toBe("Completed");
    expect((await taskRunsOf(store.db, running)).map((t) => [t.task_id, t.state])).toEqual([
      ["busy", "Crashed"],
      ["ok", "Completed"],
    ]);
    const transitions = await transitionsOf(store.db, running);
    expect(transitions.filter((t) => t.state === "Crashed").map((t) => t.task_id)).toEqual(["busy", null]);
  });

  it("finds runs whose lease ran out, leaving live and renewed ones", async () => {
    const [a, b, c] = [newRunId(), newRunId(), newRunId()];
    await createRuns(store.db, [queued(a), queued(b), queued(c)], t0, "made");
    for (const id of [a, b, c]) {
      await transitionRuns(
        store.db,
        { ids: [id] },
        { to: "Pending", at: t0, set: { lease_owner: "w", lease_expires_at: later(1000) } },
      );
    }
    await renewLeases(store.db, "w", [b], later(5000));
    await renewLeases(store.db, "someone else", [c], later(5000));
    expect(await runsWithoutHolder(store.db, later(2000), { all: false })).toEqual(
      expect.arrayContaining([a, c]),
    );
    expect(await runsWithoutHolder(store.db, later(2000), { all: false, live: new Set([a]) })).toEqual([c]);
    expect((await runsWithoutHolder(store.db, t0, { all: true })).sort()).toEqual([a, b, c].sort());
  });
});

describe("deleteWaitingRuns", () => {
  it("deletes waiting runs of a deployment or schedule with their transitions, never taken ones", async () => {
    const [a, b, c, other] = [newRunId(), newRunId(), newRunId(), newRunId()];
    await createRuns(
      store.db,
      [
        queued(a, { schedule_id: "s1" }),
        queued(b, { schedule_id: "s2" }),
        queued(c, { schedule_id: "s1" }),
        queued(other, { deployment: "e", schedule_id: "s1" }),
      ],
      t0,
      "made",
    );
    await driveTo(c, "Running");
    expect(await deleteWaitingRuns(store.db, { schedules: [{ deployment: "d", id: "s1" }] })).toBe(1);
    expect(await findRun(store.db, a)).toBeUndefined();
    expect(await transitionsOf(store.db, a)).toEqual([]);
    expect(await deleteWaitingRuns(store.db, { deployments: ["d"] })).toBe(1);
    expect((await findRun(store.db, c))?.state).toBe("Running");
    expect((await findRun(store.db, other))?.state).toBe("Scheduled");
    expect(await deleteWaitingRuns(store.db, {})).toBe(0);
  });
});

describe("RunRecorder's transition check", () => {
  it("refuses a task state change the table does not allow", async () => {
    const recorder = new RunRecorder(store.db, newRunId());
    const row: TaskRunRow = {
      run_id: recorder.runId,
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
