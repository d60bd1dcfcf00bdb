/**
 * The scheduler, deployments, backfills and the daemon's reads with a controllable clock (every
 * function takes `now`), the same assertions on a real DuckDB file and on a throwaway PostgreSQL
 * server (through `schedulerStoreOf`); DuckDB's crash recovery at a daemon's start; and on
 * PostgreSQL, two daemons registering the same files at once. The claim rules: `claims.test.ts`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { scheduleId } from "../schedule/run-key.js";
import type { NotifyRecords } from "../store/notify-config.js";
import type { Store } from "../store/open.js";
import { migratePg } from "../store/pg/migrate.js";
import { setDeploymentPausedPg } from "../store/pg/pause.js";
import { openPgPool, type PgStore } from "../store/pg/pool.js";
import { withPgTransaction } from "../store/pg/transaction.js";
import { tempStore } from "../store/testing.js";
import { claimRuns, recoverCrashedRuns } from "./claim.js";

import { type DeploymentRecord, registerDeployments, type WorkPoolRecord } from "./deploy.js";
import { schedulePass } from "./scheduler.js";
import { type SchedulerStore, schedulerStoreOf } from "./scheduler-store.js";

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

/** A backend under test: its operations, and SQL both dialects read alike for the assertions. */
interface Backend {
  ops: SchedulerStore;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  exec(sql: string): Promise<void>;
}

/** New York wall-clock time of an instant, `YYYY-MM-DD HH:MM`. */
const newYork = (at: unknown) =>
  (at as Date).toLocaleString("sv-SE", { timeZone: "America/New_York" }).slice(0, 16);

function schedulingTests(backend: () => Backend): void {
  const scheduledRuns = async () =>
    (
      await backend().rows(
        "SELECT deployment, state, scheduled_at, logical_date::text AS date FROM runs ORDER BY scheduled_at, deployment",
      )
    ).map((r) => ({
      deployment: r.deployment,
      state: r.state,
      local: newYork(r.scheduled_at),
      date: r.date,
    }));

  describe("schedulePass", () => {
    it("creates the runs of the horizon once, keyed by time: repeated passes and redeploys add none", async () => {
      const { ops, rows } = backend();
      const t0 = new Date("2025-06-30T12:00:00Z"); // Monday 08:00 New York
      expect(await ops.registerDeployments([deployment("daily")], [], t0)).toEqual([
        { kind: "deployment", name: "daily", change: "added" },
      ]);
      const first = await ops.schedulePass(t0, { horizonMs: 7.5 * 86_400_000 });
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
      const again = await ops.schedulePass(new Date(t0.getTime() + 60_000), {
        horizonMs: 7.5 * 86_400_000,
      });
      expect(again.created).toBe(0);
      // Redeploying the same definition changes nothing and keeps the runs.
      expect(await ops.registerDeployments([deployment("daily")], [], t0)).toEqual([]);
      expect(await ops.schedulePass(t0, { horizonMs: 7.5 * 86_400_000 })).toMatchObject({ created: 0 });
      expect(await rows("SELECT count(*)::INT AS n FROM runs")).toEqual([{ n: 5 }]);
      // Changing the parameters replaces the runs not yet started, with the same keys.
      const ids = (await rows("SELECT id FROM runs ORDER BY id")).map((r) => r.id);
      const changed = await ops.registerDeployments(
        [deployment("daily", { parameters: { days_back: 9 } })],
        [],
        t0,
      );
      expect(changed).toEqual([
        { kind: "deployment", name: "daily", change: "changed", detail: "parameters" },
      ]);
      expect(await ops.schedulePass(t0, { horizonMs: 7.5 * 86_400_000 })).toMatchObject({ created: 5 });
      expect((await rows("SELECT id FROM runs ORDER BY id")).map((r) => r.id)).toEqual(ids);
      expect(await rows("SELECT DISTINCT parameters->>'days_back' AS d FROM runs")).toEqual([{ d: "9" }]);
    });

    it("redeploys schedules by content: deactivated and removed ones lose their waiting runs, added ones report", async () => {
      const { ops, rows } = backend();
      const t0 = new Date("2025-06-30T12:00:00Z");
      const weekly = { cron: "0 9 * * 1", timezone: "America/New_York" };
      const both = deployment("d");
      both.schedules.push({ id: scheduleId(weekly), position: 1, definition: weekly, active: true });
      await ops.registerDeployments([both, deployment("gone")], [], t0);
      await ops.schedulePass(t0, { horizonMs: 7.5 * 86_400_000 });
      expect(
        await rows("SELECT deployment, count(*)::INT AS n FROM runs GROUP BY deployment ORDER BY 1"),
      ).toEqual([
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
      const changes = await ops.registerDeployments([next], [], t0);
      expect(changes).toEqual(
        expect.arrayContaining([
          { kind: "deployment", name: "gone", change: "removed" },
          { kind: "schedule", name: `d/${scheduleId(weekly)}`, change: "changed", detail: "inactive" },
          { kind: "schedule", name: `d/${scheduleId(hourly)}`, change: "added" },
        ]),
      );
      expect(changes).toHaveLength(3);
      // Only the daily schedule's runs remain: the weekly ones and all of "gone" are deleted.
      expect(await rows("SELECT deployment, count(*)::INT AS n FROM runs GROUP BY deployment")).toEqual([
        { deployment: "d", n: 5 },
      ]);
      expect(await rows("SELECT count(*)::INT AS n FROM schedules")).toEqual([{ n: 3 }]);
      expect(await ops.registerDeployments([next], [], t0)).toEqual([]);
    });

    it("a paused deployment makes no runs and stays paused across redeploys; resuming restarts from now", async () => {
      const { ops, rows } = backend();
      const t0 = new Date("2025-06-30T12:00:00Z");
      await ops.registerDeployments([deployment("d")], [], t0);
      await ops.schedulePass(t0, { horizonMs: 86_400_000 });
      expect(await ops.setDeploymentPaused("d", true, t0)).toBe(true);
      expect(await rows("SELECT count(*)::INT AS n FROM runs")).toEqual([{ n: 0 }]);
      expect(await ops.registerDeployments([deployment("d")], [], t0)).toEqual([]);
      expect(await rows("SELECT paused FROM deployments")).toEqual([{ paused: true }]);
      const later = new Date("2025-07-02T12:00:00Z");
      expect(await ops.schedulePass(later, { horizonMs: 86_400_000 })).toMatchObject({ created: 0 });
      await ops.setDeploymentPaused("d", false, later);
      // Not the fires missed while paused (Jun 30, Jul 1): only from now on.
      expect(await ops.schedulePass(later, { horizonMs: 86_400_000 })).toMatchObject({
        created: 1,
        dropped: 0,
      });
      expect(await ops.setDeploymentPaused("nope", true, later)).toBe(false);
    });

    it("keeps New York wall-clock time across the March DST change", async () => {
      const { ops, rows } = backend();
      const t0 = new Date("2026-03-06T12:00:00Z");
      await ops.registerDeployments([deployment("daily")], [], t0);
      await ops.schedulePass(t0, { horizonMs: 5 * 86_400_000 });
      const at = (await rows("SELECT scheduled_at FROM runs ORDER BY scheduled_at")).map((r) =>
        (r.scheduled_at as Date).toISOString(),
      );
      // Friday 17:30 EST = 22:30Z; Monday 17:30 EDT = 21:30Z.
      expect(at).toEqual([
        "2026-03-06T22:30:00.000Z",
        "2026-03-09T21:30:00.000Z",
        "2026-03-10T21:30:00.000Z",
      ]);
    });

    it.each([
      ["all", 3],
      ["latest", 1],
      ["skip", 0],
    ] as const)(
      "after a 3-day downtime, missed_runs: %s creates %i missed run(s) as Late",
      async (policy, missed) => {
        const { ops, rows } = backend();
        const t0 = new Date("2025-06-30T12:00:00Z");
        await ops.registerDeployments([deployment("d", { missedRuns: policy })], [], t0);
        await ops.schedulePass(t0, { horizonMs: 3_600_000 }); // nothing due within the hour
        expect(await rows("SELECT count(*)::INT AS n FROM runs")).toEqual([{ n: 0 }]);
        // Down until Thursday 12:00 New York: Mon, Tue, Wed 17:30 were missed.
        const back = new Date("2025-07-03T16:00:00Z");
        const pass = await ops.schedulePass(back, { horizonMs: 3_600_000 });
        expect(pass).toMatchObject({ created: missed, dropped: 3 - missed });
        // Created Late, they count as late runs of their deployment (the daemon's metrics).
        expect(pass.lateDeployments).toEqual(Array(missed).fill("d"));
        const late = await rows("SELECT count(*)::INT AS n FROM runs WHERE state = 'Late'");
        expect(late).toEqual([{ n: missed }]);
      },
    );

    it("marks a Scheduled run Late when it has not started in time, recording the transition", async () => {
      const { ops, rows } = backend();
      const t0 = new Date("2025-06-30T21:00:00Z");
      await ops.registerDeployments([deployment("d")], [], t0);
      await ops.schedulePass(t0, { horizonMs: 3_600_000 });
      const pass = await ops.schedulePass(new Date("2025-06-30T21:32:00Z"), { horizonMs: 3_600_000 });
      expect(pass.late).toBe(1);
      expect(pass.lateDeployments).toEqual(["d"]);
      expect(await rows("SELECT state FROM state_transitions ORDER BY ts")).toEqual([
        { state: "Scheduled" },
        { state: "Late" },
      ]);
    });
  });

  describe("backfill", () => {
    it("queues one run per NYSE session, only the missing ones with --missing, never twice", async () => {
      const { ops, rows, exec } = backend();
      const at = new Date("2025-07-10T12:00:00Z");
      await ops.registerDeployments([deployment("d", { parameters: { symbols: ["A", "B"] } })], [], at);
      // 2025-06-30 .. 07-07: Jul 4 is a holiday: 5 sessions. B lacks 07-02.
      for (const date of ["2025-06-30", "2025-07-01", "2025-07-02", "2025-07-03", "2025-07-07"]) {
        for (const symbol of ["A", "B"]) {
          if (symbol === "B" && date === "2025-07-02") continue;
          await exec(
            `INSERT INTO bars_daily (source, symbol, date, close) VALUES ('polygon', '${symbol}', '${date}', 1)`,
          );
        }
      }
      const range = { from: "2025-06-30", to: "2025-07-07" };
      const missing = await ops.backfill("d", { ...range, missing: true }, at);
      expect(missing).toMatchObject({ sessions: 5, complete: 4, pending: 0 });
      expect(missing?.queued.map((q) => q.date)).toEqual(["2025-07-02"]);
      const all = await ops.backfill("d", { ...range, missing: false }, at);
      expect(all?.queued.map((q) => q.date)).toEqual([
        "2025-06-30",
        "2025-07-01",
        "2025-07-03",
        "2025-07-07",
      ]);
      expect(all?.pending).toBe(1);
      expect((await ops.backfill("d", { ...range, missing: false }, at))?.queued).toEqual([]);
      expect(await rows("SELECT logical_date::text AS d, state FROM runs ORDER BY logical_date")).toEqual(
        ["2025-06-30", "2025-07-01", "2025-07-02", "2025-07-03", "2025-07-07"].map((d) => ({
          d,
          state: "Scheduled",
        })),
      );
      expect(await ops.backfill("nope", { ...range, missing: false }, at)).toBeUndefined();
    });
  });

  describe("registration", () => {
    const notify = (url: string): NotifyRecords => ({
      // Keys out of order on purpose: PostgreSQL's jsonb stores its own order.
      channels: [
        { name: "ops", type: "webhook", definition: { url, type: "webhook", headers: { b: "2", a: "1" } } },
      ],
      rules: [{ event: "run.failed", deployment: null, channel: "ops" }],
      freshness: [{ source: "polygon", max_age: "2d" }],
    });

    it("registers pools, queues and notifications once; a pool paused by the user stays paused", async () => {
      const { ops, rows } = backend();
      const t0 = new Date("2025-06-30T12:00:00Z");
      const other = { ...POOL, name: "other", jobDefaults: { timeout: "2h", env: { TZ: "UTC" } } };
      expect(await ops.registerDeployments([deployment("d")], [POOL, other], t0, notify("http://a"))).toEqual(
        [
          { kind: "work_pool", name: "default", change: "added" },
          { kind: "work_pool", name: "other", change: "added" },
          { kind: "notifications", name: "channels and rules", change: "changed" },
          { kind: "deployment", name: "d", change: "added" },
        ],
      );
      expect(await ops.registerDeployments([deployment("d")], [POOL, other], t0, notify("http://a"))).toEqual(
        [],
      );
      expect(await ops.setWorkPoolPaused("default", true)).toBe(true);
      expect(await ops.setWorkPoolPaused("nope", true)).toBe(false);
      const changed = { ...POOL, concurrencyLimit: 3, queues: [POOL.queues[0]!] };
      expect(await ops.registerDeployments([deployment("d")], [changed], t0, notify("http://b"))).toEqual([
        { kind: "work_pool", name: "other", change: "removed" },
        { kind: "work_pool", name: "default", change: "changed", detail: "concurrencyLimit, queues" },
        { kind: "notifications", name: "channels and rules", change: "changed" },
      ]);
      expect(await rows("SELECT name, concurrency_limit, paused FROM work_pools ORDER BY name")).toEqual([
        { name: "default", concurrency_limit: 3, paused: true },
      ]);
      expect(await rows("SELECT pool, name FROM work_queues ORDER BY pool, name")).toEqual([
        { pool: "default", name: "high" },
      ]);
      expect(await rows("SELECT channel FROM notify_rules")).toEqual([{ channel: "ops" }]);
      // Without notifications (an older client) what is registered stays.
      expect(await ops.registerDeployments([deployment("d")], [changed], t0)).toEqual([]);
      expect(await rows("SELECT count(*)::INT AS n FROM notify_channels")).toEqual([{ n: 1 }]);
    });
  });

  describe("the daemon's reads", () => {
    it("lists deployments, schedules and pools with their runs, the status line's waiting runs", async () => {
      const { ops, exec } = backend();
      const t0 = new Date("2025-06-30T21:00:00Z"); // Monday 17:00 New York
      const pool = { ...POOL, jobDefaults: { timeout: "2h", env: { TZ: "America/New_York" } } };
      await ops.registerDeployments(
        [
          deployment("a", { workPool: "default", workQueue: "high", tags: ["x"], concurrencyLimit: 2 }),
          deployment("b", { paused: true }),
        ],
        [pool],
        t0,
      );
      await ops.schedulePass(t0, { horizonMs: 2 * 86_400_000 });
      const [a, b] = await ops.listDeployments();
      expect(a).toMatchObject({
        name: "a",
        parameters: { days_back: 5 },
        work_pool: "default",
        work_queue: "high",
        concurrency_limit: 2,
        collision_strategy: "enqueue",
        tags: ["x"],
        paused: false,
        next_run: new Date("2025-06-30T21:30:00Z"),
      });
      expect(b).toMatchObject({ name: "b", paused: true, next_run: null });
      expect(await ops.findDeployment("a")).toEqual(a);
      expect(await ops.findDeployment("nope")).toBeUndefined();
      expect(await ops.schedulesOf("a")).toEqual([
        {
          id: deployment("a").schedules[0]!.id,
          position: 0,
          definition: { cron: "30 17 * * 1-5", timezone: "America/New_York", calendar: "XNYS" },
          active: true,
          paused: false,
        },
      ]);
      expect(await ops.poolDefaults("default")).toEqual({ timeout: "2h", env: { TZ: "America/New_York" } });
      expect(await ops.poolDefaults("nope")).toEqual({ env: {} });
      expect(await ops.poolDefaults(null)).toEqual({ env: {} });

      // At 17:31 the run of 17:30 waits for a slot; a finished run of "a" and one holding a slot.
      const t1 = new Date("2025-06-30T21:31:00Z");
      await exec(
        `INSERT INTO runs (id, pipeline, deployment, state, created_at, ended_at, work_pool, work_queue) VALUES
         ('done', 'p', 'a', 'Completed', TIMESTAMPTZ '2025-06-30 20:00:00+00', TIMESTAMPTZ '2025-06-30 20:05:00+00', 'default', 'high'),
         ('busy', 'p', 'a', 'Running', TIMESTAMPTZ '2025-06-30 21:00:00+00', NULL, 'default', 'low')`,
      );
      expect(await ops.waitingRuns(t1)).toEqual({ due: 1, next: new Date("2025-07-01T21:30:00Z") });
      expect(await ops.listWorkPools(t1)).toEqual([
        {
          name: "default",
          concurrency_limit: 1,
          paused: false,
          slots_in_use: 1,
          queued: 1,
          queues: [
            { name: "high", priority: 1, concurrency_limit: null, slots_in_use: 0, queued: 1 },
            { name: "low", priority: 10, concurrency_limit: null, slots_in_use: 1, queued: 0 },
          ],
        },
      ]);
      expect(await ops.lastSuccesses()).toEqual([
        { deployment: "a", at: new Date("2025-06-30T20:05:00Z") },
        { deployment: "b", at: null },
      ]);
      expect(await ops.deploymentsOfRuns(["busy", "nope", "done"])).toEqual(["a", null, "a"]);
      // A paused pool's runs wait for nothing: the status line leaves them out.
      await ops.setWorkPoolPaused("default", true);
      expect(await ops.waitingRuns(t1)).toEqual({ due: 0, next: undefined });
    });
  });
}

describe("on DuckDB", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });
  const rows = async (sql: string) => (await store.db.runAndReadAll(sql)).getRowObjectsJson();

  schedulingTests(() => ({
    ops: schedulerStoreOf(store.db),
    rows: async (sql) => (await store.db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
    exec: async (sql) => {
      await store.db.run(sql);
    },
  }));

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
});

pgDescribe("on PostgreSQL", (server) => {
  let store: PgStore;
  beforeAll(async () => {
    store = await openPgPool(server.url(), { env: {} });
    await migratePg(store.pool);
  });
  afterAll(() => store?.close());
  beforeEach(async () => {
    await store.pool.query(
      `TRUNCATE runs, state_transitions, task_runs, deployments, schedules, work_pools, work_queues,
         bars_daily, notify_channels, notify_rules, notify_freshness`,
    );
  });
  const pgBackend = (): Backend => ({
    ops: schedulerStoreOf(store),
    rows: async (sql) => (await store.pool.query(sql)).rows,
    exec: async (sql) => {
      await store.pool.query(sql);
    },
  });

  schedulingTests(pgBackend);

  it("a scheduler pass waits for a pause in progress elsewhere: it makes no run of the paused deployment", async () => {
    const t0 = new Date("2025-06-30T12:00:00Z");
    const ops = schedulerStoreOf(store);
    await ops.registerDeployments([deployment("d")], [], t0);
    let pass: Promise<unknown> | undefined;
    // Another daemon's API pauses "d" (its transaction still open) while the leader's pass starts.
    await withPgTransaction(store.pool, async (tx) => {
      expect(await setDeploymentPausedPg(tx, "d", true, t0)).toBe(true);
      pass = ops.schedulePass(t0, { horizonMs: 7 * 86_400_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(await pass).toMatchObject({ created: 0 });
    expect((await store.pool.query("SELECT count(*)::int AS n FROM runs")).rows).toEqual([{ n: 0 }]);
  });

  it("two daemons registering the same files at once take turns: one registers, the other finds nothing to do", async () => {
    const t0 = new Date("2025-06-30T12:00:00Z");
    const deployments = Array.from({ length: 200 }, (_, i) =>
      deployment(`d${String(i).padStart(3, "0")}`, { workPool: "default" }),
    );
    const others = await Promise.all([1, 2, 3].map(() => openPgPool(server.url(), { env: {} })));
    try {
      for (let round = 0; round < 3; round++) {
        await store.pool.query("TRUNCATE deployments, schedules, work_pools, work_queues");
        const daemons = [store, ...others].map((s) => schedulerStoreOf(s));
        const changes = await Promise.all(daemons.map((d) => d.registerDeployments(deployments, [POOL], t0)));
        // Exactly one daemon registered everything; the others saw it done.
        expect(changes.map((c) => c.length).sort((x, y) => x - y)).toEqual([0, 0, 0, 201]);
        const [counts] = (
          await store.pool.query(
            `SELECT (SELECT count(*)::int FROM deployments) AS d, (SELECT count(*)::int FROM schedules) AS s,
               (SELECT count(*)::int FROM work_queues) AS q`,
          )
        ).rows;
        expect(counts).toEqual({ d: 200, s: 200, q: 2 });
      }
      // The scheduler (the leader's) then makes each deployment's runs once.
      expect(await schedulerStoreOf(store).schedulePass(t0, { horizonMs: 86_400_000 })).toMatchObject({
        created: 200,
      });
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });
});
