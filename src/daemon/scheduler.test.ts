/**
 * The scheduler, the claim rules and crash recovery on a real DuckDB file with a controllable
 * clock (every function takes `now`).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scheduleId } from "../schedule/run-key.js";
import type { Store } from "../store/open.js";
import { tempStore } from "../store/testing.js";
import { claimRuns, recoverCrashedRuns } from "./claim.js";
import { type DeploymentRecord, registerDeployments, type WorkPoolRecord } from "./deploy.js";
import { schedulePass } from "./scheduler.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

const rows = async (sql: string) => (await store.db.runAndReadAll(sql)).getRowObjectsJson();

function deployment(
  name: string,
  extra: Partial<DeploymentRecord> = {},
  cron = "30 17 * * 1-5",
): DeploymentRecord {
  const schedule = { cron, timezone: "America/New_York", calendar: "XNYS" as const };
  return {
    name,
    pipeline: "p",
    pipelineFile: "/nonexistent/p.yaml",
    parameters: { days_back: 5 },
    workPool: null,
    workQueue: null,
    concurrencyLimit: null,
    collisionStrategy: "enqueue",
    missedRuns: "latest",
    tags: [],
    paused: false,
    schedules: [{ id: scheduleId(schedule), position: 0, definition: schedule, active: true }],
    ...extra,
  };
}

const POOL: WorkPoolRecord = {
  name: "default",
  concurrencyLimit: 1,
  paused: false,
  jobDefaults: {},
  queues: [
    { name: "high", priority: 1, concurrencyLimit: null },
    { name: "low", priority: 10, concurrencyLimit: null },
  ],
};

const scheduledRuns = () =>
  rows(
    "SELECT deployment, state, strftime(scheduled_at AT TIME ZONE 'America/New_York', '%Y-%m-%d %H:%M') AS local, logical_date::VARCHAR AS date FROM runs ORDER BY scheduled_at, deployment",
  );

describe("schedulePass", () => {
  it("creates the runs of the horizon once, keyed by time: repeated passes and redeploys add none", async () => {
    const t0 = new Date("2025-06-30T12:00:00Z"); // Monday 08:00 New York
    expect(await registerDeployments(store.db, [deployment("daily")], [], t0)).toEqual([
      { kind: "deployment", name: "daily", change: "added" },
    ]);
    const first = await schedulePass(store.db, t0, { horizonMs: 7.5 * 86_400_000 });
    // Mon 30 Jun 08:00 .. Mon 7 Jul 20:00: Friday 4 July (Independence Day) is skipped.
    expect(first.created).toBe(5);
    expect((await scheduledRuns()).map((r) => r.local)).toEqual([
      "2025-06-30 17:30",
      "2025-07-01 17:30",
      "2025-07-02 17:30",
      "2025-07-03 17:30",
      "2025-07-07 17:30",
    ]);
    expect((await scheduledRuns())[0]).toMatchObject({ state: "Scheduled", date: "2025-06-30" });
    const again = await schedulePass(store.db, new Date(t0.getTime() + 60_000), {
      horizonMs: 7.5 * 86_400_000,
    });
    expect(again.created).toBe(0);
    // Redeploying the same definition changes nothing and keeps the runs.
    expect(await registerDeployments(store.db, [deployment("daily")], [], t0)).toEqual([]);
    expect(await schedulePass(store.db, t0, { horizonMs: 7.5 * 86_400_000 })).toMatchObject({ created: 0 });
    expect(await rows("SELECT count(*)::INT AS n FROM runs")).toEqual([{ n: 5 }]);
    // Changing the parameters replaces the runs not yet started, with the same keys.
    const ids = (await rows("SELECT id FROM runs ORDER BY id")).map((r) => r.id);
    const changed = await registerDeployments(
      store.db,
      [deployment("daily", { parameters: { days_back: 9 } })],
      [],
      t0,
    );
    expect(changed).toEqual([{ kind: "deployment", name: "daily", change: "changed", detail: "parameters" }]);
    expect(await schedulePass(store.db, t0, { horizonMs: 7.5 * 86_400_000 })).toMatchObject({ created: 5 });
    expect((await rows("SELECT id FROM runs ORDER BY id")).map((r) => r.id)).toEqual(ids);
    expect(await rows("SELECT DISTINCT parameters->>'days_back' AS d FROM runs")).toEqual([{ d: "9" }]);
  });

  it("redeploys schedules by content: deactivated and removed ones lose their waiting runs, added ones report", async () => {
    const t0 = new Date("2025-06-30T12:00:00Z");
    const weekly = { cron: "0 9 * * 1", timezone: "America/New_York" };
    const both = deployment("d");
    both.schedules.push({ id: scheduleId(weekly), position: 1, definition: weekly, active: true });
    await registerDeployments(store.db, [both, deployment("gone")], [], t0);
    await schedulePass(store.db, t0, { horizonMs: 7.5 * 86_400_000 });
    expect(await rows("SELECT deployment, count(*)::INT AS n FROM runs GROUP BY ALL ORDER BY 1")).toEqual([
      { deployment: "d", n: 7 }, // five weekday 17:30 runs and two Monday 09:00 runs
      { deployment: "gone", n: 5 },
    ]);
    // The weekly schedule switched off, a new one added, "gone" removed.
    const hourly = { cron: "0 * * * *", timezone: "UTC", active: false };
    const next = deployment("d");
    next.schedules.push(
      { id: scheduleId(weekly), position: 1, definition: weekly, active: false },
      { id: scheduleId(hourly), position: 2, definition: hourly, active: false },
    );
    const changes = await registerDeployments(store.db, [next], [], t0);
    expect(changes).toEqual(
      expect.arrayContaining([
        { kind: "deployment", name: "gone", change: "removed" },
        { kind: "schedule", name: `d/${scheduleId(weekly)}`, change: "changed", detail: "inactive" },
        { kind: "schedule", name: `d/${scheduleId(hourly)}`, change: "added" },
      ]),
    );
    expect(changes).toHaveLength(3);
    // Only the daily schedule's runs remain: the weekly ones and all of "gone" are deleted.
    expect(await rows("SELECT deployment, count(*)::INT AS n FROM runs GROUP BY ALL")).toEqual([
      { deployment: "d", n: 5 },
    ]);
    expect(await rows("SELECT count(*)::INT AS n FROM schedules")).toEqual([{ n: 3 }]);
    expect(await registerDeployments(store.db, [next], [], t0)).toEqual([]);
  });

  it("a paused deployment makes no runs and stays paused across redeploys; resuming restarts from now", async () => {
    const { setDeploymentPaused } = await import("./deploy.js");
    const t0 = new Date("2025-06-30T12:00:00Z");
    await registerDeployments(store.db, [deployment("d")], [], t0);
    await schedulePass(store.db, t0, { horizonMs: 86_400_000 });
    expect(await setDeploymentPaused(store.db, "d", true, t0)).toBe(true);
    expect(await rows("SELECT count(*)::INT AS n FROM runs")).toEqual([{ n: 0 }]);
    expect(await registerDeployments(store.db, [deployment("d")], [], t0)).toEqual([]);
    expect(await rows("SELECT paused FROM deployments")).toEqual([{ paused: true }]);
    const later = new Date("2025-07-02T12:00:00Z");
    expect(await schedulePass(store.db, later, { horizonMs: 86_400_000 })).toMatchObject({ created: 0 });
    await setDeploymentPaused(store.db, "d", false, later);
    // Not the fires missed while paused (Jun 30, Jul 1): only from now on.
    expect(await schedulePass(store.db, later, { horizonMs: 86_400_000 })).toMatchObject({
      created: 1,
      dropped: 0,
    });
    expect(await setDeploymentPaused(store.db, "nope", true, later)).toBe(false);
  });

  it("keeps New York wall-clock time across the March DST change", async () => {
    const t0 = new Date("2026-03-06T12:00:00Z");
    await registerDeployments(store.db, [deployment("daily")], [], t0);
    await schedulePass(store.db, t0, { horizonMs: 5 * 86_400_000 });
    const at = (await rows("SELECT scheduled_at::VARCHAR AS at FROM runs ORDER BY scheduled_at")).map(
      (r) => r.at,
    );
    // Friday 17:30 EST = 22:30Z; Monday 17:30 EDT = 21:30Z.
    expect(at).toEqual(["2026-03-06 22:30:00+00", "2026-03-09 21:30:00+00", "2026-03-10 21:30:00+00"]);
  });

  it.each([
    ["all", 3],
    ["latest", 1],
    ["skip", 0],
  ] as const)(
    "after a 3-day downtime, missed_runs: %s creates %i missed run(s) as Late",
    async (policy, missed) => {
      const t0 = new Date("2025-06-30T12:00:00Z");
      await registerDeployments(store.db, [deployment("d", { missedRuns: policy })], [], t0);
      await schedulePass(store.db, t0, { horizonMs: 3_600_000 }); // nothing due within the hour
      expect(await rows("SELECT count(*)::INT AS n FROM runs")).toEqual([{ n: 0 }]);
      // Down until Thursday 12:00 New York: Mon, Tue, Wed 17:30 were missed.
      const back = new Date("2025-07-03T16:00:00Z");
      const pass = await schedulePass(store.db, back, { horizonMs: 3_600_000 });
      expect(pass).toMatchObject({ created: missed, dropped: 3 - missed });
      // Created Late, they count as late runs of their deployment (the daemon's metrics).
      expect(pass.lateDeployments).toEqual(Array(missed).fill("d"));
      const late = await rows("SELECT count(*)::INT AS n FROM runs WHERE state = 'Late'");
      expect(late).toEqual([{ n: missed }]);
    },
  );

  it("marks a Scheduled run Late when it has not started in time, recording the transition", async () => {
    const t0 = new Date("2025-06-30T21:00:00Z");
    await registerDeployments(store.db, [deployment("d")], [], t0);
    await schedulePass(store.db, t0, { horizonMs: 3_600_000 });
    const pass = await schedulePass(store.db, new Date("2025-06-30T21:32:00Z"), { horizonMs: 3_600_000 });
    expect(pass.late).toBe(1);
    expect(pass.lateDeployments).toEqual(["d"]);
    expect(await rows("SELECT state FROM state_transitions ORDER BY ts")).toEqual([
      { state: "Scheduled" },
      { state: "Late" },
    ]);
  });
});

describe("claimRuns", () => {
  async function dueRuns(deployments: DeploymentRecord[], at: Date): Promise<void> {
    await registerDeployments(store.db, deployments, [POOL], at);
    await schedulePass(store.db, new Date(at.getTime() - 3_600_000), { horizonMs: 7_200_000 });
  }
  const states = () => rows("SELECT deployment, state FROM runs ORDER BY deployment");

  it("takes runs by queue priority within the pool's limit", async () => {
    const at = new Date("2025-06-30T21:30:00Z");
    // "low" fires first (17:00), "high" at 17:30; the pool has one slot: high goes first.
    await dueRuns(
      [
        deployment("low", { workPool: "default", workQueue: "low" }, "0 17 * * 1-5"),
        deployment("high", { workPool: "default", workQueue: "high" }),
      ],
      at,
    );
    const first = await claimRuns(store.db, at, "w1", 60_000, 4);
    expect(first.claimed.map((r) => r.deployment)).toEqual(["high"]);
    expect(await states()).toEqual([
      { deployment: "high", state: "Pending" },
      { deployment: "low", state: "Scheduled" },
    ]);
    // The slot is held: nothing more until high ends.
    expect((await claimRuns(store.db, at, "w1", 60_000, 4)).claimed).toEqual([]);
    await store.db.run("UPDATE runs SET state = 'Completed' WHERE deployment = 'high'");
    expect((await claimRuns(store.db, at, "w1", 60_000, 4)).claimed.map((r) => r.deployment)).toEqual([
      "low",
    ]);
  });

  it.each([
    ["enqueue", "Scheduled"],
    ["cancel_new", "Cancelled"],
  ] as const)(
    "a deployment at its limit with collision_strategy %s leaves the new run %s",
    async (strategy, state) => {
      const at = new Date("2025-06-30T21:30:00Z");
      await dueRuns([deployment("d", { concurrencyLimit: 1, collisionStrategy: strategy })], at);
      await store.db.run(
        "INSERT INTO runs (id, pipeline, deployment, state, created_at) VALUES ('running-one', 'p', 'd', 'Running', now())",
      );
      const claim = await claimRuns(store.db, at, "w1", 60_000, 4);
      expect(claim.claimed).toEqual([]);
      expect(await rows("SELECT state FROM runs WHERE id <> 'running-one'")).toEqual([{ state }]);
    },
  );
});

describe("recoverCrashedRuns", () => {
  it("marks the runs and tasks a dead process held as Crashed, freeing their slots", async () => {
    const at = new Date("2025-06-30T21:30:00Z");
    await registerDeployments(store.db, [deployment("d", { concurrencyLimit: 1 })], [], at);
    await schedulePass(store.db, new Date(at.getTime() - 3_600_000), { horizonMs: 7_200_000 });
    const { claimed } = await claimRuns(store.db, at, "dead-worker", 60_000, 4);
    expect(claimed).toHaveLength(1);
    await store.db.run(
      `INSERT INTO task_runs (run_id, task_id, step, state, attempts) VALUES ('${claimed[0]!.id}', 't', 'log', 'Running', 1)`,
    );
    // Lease still valid: a running daemon leaves it alone unless told it is gone.
    expect(await recoverCrashedRuns(store.db, at, { atStart: false })).toEqual([]);
    expect(await recoverCrashedRuns(store.db, at, { atStart: true })).toEqual([claimed[0]!.id]);
    expect(await rows("SELECT state FROM runs")).toEqual([{ state: "Crashed" }]);
    expect(await rows("SELECT state FROM task_runs")).toEqual([{ state: "Crashed" }]);
    // An expired lease is found too.
    await store.db.run(
      "INSERT INTO runs (id, pipeline, deployment, state, created_at, lease_owner, lease_expires_at) VALUES ('x', 'p', 'd', 'Running', now(), 'w', TIMESTAMPTZ '2025-06-30 21:00:00+00')",
    );
    expect(await recoverCrashedRuns(store.db, at, { atStart: false })).toEqual(["x"]);
  });
});

describe("backfill", () => {
  it("queues one run per NYSE session, only the missing ones with --missing, never twice", async () => {
    const { backfill } = await import("./backfill.js");
    const at = new Date("2025-07-10T12:00:00Z");
    await registerDeployments(store.db, [deployment("d", { parameters: { symbols: ["A", "B"] } })], [], at);
    // 2025-06-30 .. 07-07: Jul 4 is a holiday: 5 sessions. B lacks 07-02.
    for (const date of ["2025-06-30", "2025-07-01", "2025-07-02", "2025-07-03", "2025-07-07"]) {
      for (const symbol of ["A", "B"]) {
        if (symbol === "B" && date === "2025-07-02") continue;
        await store.db.run(
          `INSERT INTO bars_daily (source, symbol, date, close) VALUES ('polygon', '${symbol}', '${date}', 1)`,
        );
      }
    }
    const range = { from: "2025-06-30", to: "2025-07-07" };
    const missing = await backfill(store.db, "d", { ...range, missing: true }, at);
    expect(missing).toMatchObject({ sessions: 5, complete: 4, pending: 0 });
    expect(missing?.queued.map((q) => q.date)).toEqual(["2025-07-02"]);
    const all = await backfill(store.db, "d", { ...range, missing: false }, at);
    expect(all?.queued.map((q) => q.date)).toEqual(["2025-06-30", "2025-07-01", "2025-07-03", "2025-07-07"]);
    expect(all?.pending).toBe(1);
    expect((await backfill(store.db, "d", { ...range, missing: false }, at))?.queued).toEqual([]);
    expect(await rows("SELECT logical_date::VARCHAR AS d, state FROM runs ORDER BY logical_date")).toEqual(
      ["2025-06-30", "2025-07-01", "2025-07-02", "2025-07-03", "2025-07-07"].map((d) => ({
        d,
        state: "Scheduled",
      })),
    );
    expect(await backfill(store.db, "nope", { ...range, missing: false }, at)).toBeUndefined();
  });
});
