/**
 * The control plane's run operations on PostgreSQL, against a throwaway server: guarded transitions
 * (a move the table forbids leaves the run; racing identical moves, one wins), creation once per id,
 * concurrent claimers within pool, queue and deployment limits (never over, every run taken once),
 * leases running out (Crashed, slot freed) and a restart recovering only its own runs.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { pgDescribe } from "../../../tests/helpers/postgres.js";
import type { NewRun } from "../create-runs.js";
import { SLOT_RUN_STATES } from "../states.js";
import { claimRunsPg } from "./claim-runs.js";
import { crashRunsPg } from "./crash-runs.js";
import { createRunsPg } from "./create-runs.js";
import { crashExpiredLeasesPg, expiredLeasesPg, recoverOwnRunsPg, renewLeasesPg } from "./leases.js";
import { migratePg } from "./migrate.js";
import { openPgPool, type PgStore } from "./pool.js";
import { transitionRunsPg } from "./run-transitions.js";

const T0 = new Date("2026-01-05T09:00:00Z");
const later = (ms: number) => new Date(T0.getTime() + ms);

function run(id: string, over: Partial<NewRun> = {}): NewRun {
  return {
    id,
    pipeline: "p",
    deployment: null,
    state: "Scheduled",
    parameters: { id },
    logical_date: "2026-01-05",
    pipeline_file: "/x/p.yaml",
    scheduled_at: T0,
    ...over,
  };
}

pgDescribe("PostgreSQL runs: transitions, claims, leases", (server) => {
  let store: PgStore;
  beforeAll(async () => {
    store = await openPgPool(server.url(), { env: {}, max: 20 });
    await migratePg(store.pool);
  });
  afterAll(() => store?.close());
  beforeEach(async () => {
    await store.pool.query(
      "TRUNCATE runs, state_transitions, task_runs, deployments, work_pools, work_queues",
    );
  });

  const q = async (sql: string, values: unknown[] = []) => (await store.pool.query(sql, values)).rows;
  const stateOf = async (id: string) => (await q("SELECT state FROM runs WHERE id = $1", [id]))[0]?.state;
  const transitions = async (id: string) =>
    (await q("SELECT state FROM state_transitions WHERE run_id = $1 ORDER BY ts, state", [id])).map(
      (r) => r.state,
    );

  async function deployment(name: string, pool: string | null, limit: number | null, collision = "enqueue") {
    await q(
      `INSERT INTO deployments (name, pipeline, pipeline_file, work_pool, concurrency_limit, collision_strategy,
         missed_runs, paused, definition, updated_at)
       VALUES ($1, 'p', '/x/p.yaml', $2, $3, $4, 'skip', false, '{}', now())`,
      [name, pool, limit, collision],
    );
  }
  async function workPool(name: string, limit: number | null) {
    await q(
      "INSERT INTO work_pools (name, concurrency_limit, paused, definition) VALUES ($1, $2, false, '{}')",
      [name, limit],
    );
  }

  it("creates each run once, with its first transition and its columns", async () => {
    const made = await createRunsPg(
      store.pool,
      [run("a"), run("b", { state: "Late" }), run("a")],
      T0,
      "made",
    );
    expect(made).toEqual(["a", "b"]);
    expect(await createRunsPg(store.pool, [run("a"), run("c")], T0, "made")).toEqual(["c"]);
    const [a] = await q("SELECT parameters, logical_date::text AS d, scheduled_at FROM runs WHERE id = 'a'");
    expect(a).toEqual({ parameters: { id: "a" }, d: "2026-01-05", scheduled_at: T0 });
    expect(await transitions("a")).toEqual(["Scheduled"]);
    expect(await transitions("b")).toEqual(["Late"]);
    await expect(
      createRunsPg(store.pool, [run("x", { state: "Pending" as never })], T0, "m"),
    ).rejects.toThrow(/cannot be created Pending/);
  });

  it("moves only runs the transition table allows; of 4 identical racing moves, one moves the run", async () => {
    await createRunsPg(store.pool, [run("a"), run("b")], T0, "made");
    // Scheduled -> Completed is not allowed: nothing changes, no transition row.
    expect(await transitionRunsPg(store.pool, { ids: ["a"] }, { to: "Completed", at: later(1) })).toEqual([]);
    expect(await stateOf("a")).toBe("Scheduled");
    expect(await transitions("a")).toEqual(["Scheduled"]);
    // `from` narrows further.
    expect(
      await transitionRunsPg(store.pool, { ids: ["a"] }, { to: "Pending", from: ["Late"], at: later(1) }),
    ).toEqual([]);

    const race = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        transitionRunsPg(
          store.pool,
          { ids: ["a", "b"] },
          { to: "Pending", at: later(2), message: `w${i}`, set: { lease_owner: `w${i}` } },
        ),
      ),
    );
    expect(race.flat().sort()).toEqual(["a", "b"]);
    expect(race.filter((moved) => moved.length > 0)).toHaveLength(1);
    expect(await transitions("a")).toEqual(["Scheduled", "Pending"]);
    // Selected by lease owner: the winner's runs only.
    const winner = `w${race.findIndex((moved) => moved.length > 0)}`;
    expect(
      (await transitionRunsPg(store.pool, { leaseOwner: "nobody" }, { to: "Running", at: later(3) })).length,
    ).toBe(0);
    expect(
      (await transitionRunsPg(store.pool, { leaseOwner: winner }, { to: "Running", at: later(3) })).sort(),
    ).toEqual(["a", "b"]);
  });

  it("crashes a run and its unfinished tasks, never a finished run", async () => {
    await createRunsPg(store.pool, [run("a", { state: "Running" }), run("b", { state: "Running" })], T0, "m");
    await q(
      `INSERT INTO task_runs (run_id, task_id, step, state, attempts) VALUES
         ('a', 't1', 's', 'Running', 1), ('a', 't2', 's', 'Completed', 1)`,
    );
    await transitionRunsPg(store.pool, { ids: ["b"] }, { to: "Completed", at: later(1) });
    expect(await crashRunsPg(store.pool, ["a", "b"], later(2), "gone")).toEqual(["a"]);
    expect(await q("SELECT task_id, state FROM task_runs ORDER BY task_id")).toEqual([
      { task_id: "t1", state: "Crashed" },
      { task_id: "t2", state: "Completed" },
    ]);
    expect(await q("SELECT task_id, state FROM state_transitions WHERE task_id IS NOT NULL")).toEqual([
      { task_id: "t1", state: "Crashed" },
    ]);
    expect(await stateOf("b")).toBe("Completed");
  });

  it("8 concurrent claimers take 200 runs, each once, never over a pool, queue or deployment limit", async () => {
    const POOL_LIMIT = 5;
    const DEPLOYMENT_LIMIT = 2;
    const QUEUE_LIMIT = 3;
    await workPool("pa", POOL_LIMIT);
    await workPool("pb", POOL_LIMIT);
    await q(
      "INSERT INTO work_queues (pool, name, priority, concurrency_limit) VALUES ('pa', 'urgent', 1, $1)",
      [QUEUE_LIMIT],
    );
    for (let d = 0; d < 6; d++) await deployment(`d${d}`, null, DEPLOYMENT_LIMIT);
    // A deployment's runs are spread over both pools: its limit binds claimers of different pools.
    const runs = Array.from({ length: 200 }, (_, i) =>
      run(`r${String(i).padStart(3, "0")}`, {
        deployment: `d${i % 6}`,
        work_pool: i % 2 === 0 ? "pa" : "pb",
        work_queue: i % 4 === 0 ? "urgent" : null,
        scheduled_at: later(i),
      }),
    );
    expect(await createRunsPg(store.pool, runs, T0, "made")).toHaveLength(200);

    const taken: string[] = [];
    const violations: string[] = [];
    const peak = { pool: 0, deployment: 0, queue: 0 };
    const check = async () => {
      const rows = await q(
        `SELECT 'pool' AS kind, work_pool AS name, count(*)::int AS n FROM runs WHERE state = ANY($1) GROUP BY work_pool
         UNION ALL SELECT 'deployment', deployment, count(*)::int FROM runs WHERE state = ANY($1) GROUP BY deployment
         UNION ALL SELECT 'queue', work_queue, count(*)::int FROM runs
           WHERE state = ANY($1) AND work_queue IS NOT NULL GROUP BY work_queue`,
        [[...SLOT_RUN_STATES]],
      );
      const limit = { pool: POOL_LIMIT, deployment: DEPLOYMENT_LIMIT, queue: QUEUE_LIMIT };
      for (const r of rows as { kind: keyof typeof limit; name: string; n: number }[]) {
        peak[r.kind] = Math.max(peak[r.kind], r.n);
        if (r.n > limit[r.kind]) violations.push(`${r.kind} ${r.name}: ${r.n}`);
      }
    };
    let checks = 0;
    let done = false;
    const watcher = (async () => {
      while (!done) {
        await check();
        checks++;
      }
    })();
    const now = later(1_000_000);
    let rounds = 0;
    const claimer = async (k: number) => {
      const owner = `w${k}`;
      const pools = k % 3 === 0 ? undefined : k % 3 === 1 ? ["pa"] : ["pb"];
      const mine: string[] = [];
      for (let idle = 0; idle < 40; ) {
        const { claimed } = await claimRunsPg(store.pool, {
          owner,
          now,
          leaseUntil: later(2_000_000),
          limit: 1 + (k % 3),
          ...(pools ? { pools } : {}),
        });
        rounds++;
        await check();
        for (const c of claimed) {
          taken.push(c.id);
          mine.push(c.id);
        }
        // Finish the oldest of this claimer's runs: Running, then Completed (the slot frees).
        const finishing = mine.splice(0, 1 + (rounds % 2));
        if (finishing.length > 0) {
          await transitionRunsPg(
            store.pool,
            { ids: finishing, leaseOwner: owner },
            { to: "Running", at: now },
          );
          await transitionRunsPg(store.pool, { ids: finishing }, { to: "Completed", at: now });
        }
        const left = await q("SELECT count(*)::int AS n FROM runs WHERE state <> 'Completed'");
        if (left[0].n === 0) break;
        idle = claimed.length === 0 && finishing.length === 0 ? idle + 1 : 0;
        if (claimed.length === 0) await new Promise((r) => setTimeout(r, 2));
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, k) => claimer(k)));
    done = true;
    await watcher;
    expect(violations).toEqual([]);
    expect(taken).toHaveLength(200);
    expect(new Set(taken).size).toBe(200);
    expect(await q("SELECT count(*)::int AS n FROM runs WHERE state = 'Completed'")).toEqual([{ n: 200 }]);
    // The limits were reached (the test did race), never passed.
    expect(peak.deployment).toBe(DEPLOYMENT_LIMIT);
    expect(peak.pool).toBeGreaterThanOrEqual(3);
    // Every run: Scheduled, Pending, Running, Completed: one transition row each.
    expect(await q("SELECT count(*)::int AS n FROM state_transitions")).toEqual([{ n: 800 }]);
    process.stderr.write(
      `claims: 200 runs, ${rounds} claim rounds by 8 claimers, ${checks} watcher checks, peak ${JSON.stringify(peak)}\n`,
    );
  });

  it("takes runs in claim order, skips paused pools, cancels new runs of a full cancel_new deployment", async () => {
    await workPool("pa", null);
    await q("INSERT INTO work_queues (pool, name, priority, concurrency_limit) VALUES ('pa', 'hi', 1, NULL)");
    await deployment("dc", null, 1, "cancel_new");
    await createRunsPg(
      store.pool,
      [
        run("late", { work_pool: "pa", scheduled_at: later(10) }),
        run("early", { work_pool: "pa", scheduled_at: later(5) }),
        run("queued", { work_pool: "pa", work_queue: "hi", scheduled_at: later(20) }),
        run("future", { work_pool: "pa", scheduled_at: later(99_999) }),
        run("c1", { deployment: "dc", scheduled_at: later(1) }),
        run("c2", { deployment: "dc", scheduled_at: later(2) }),
      ],
      T0,
      "made",
    );
    const got = await claimRunsPg(store.pool, {
      owner: "w",
      now: later(50),
      leaseUntil: later(60_000),
      limit: 10,
    });
    expect(got.claimed.map((c) => c.id)).toEqual(["queued", "c1", "early", "late"]);
    expect(got.claimed[0]).toMatchObject({
      workPool: "pa",
      workQueue: "hi",
      logicalDate: "2026-01-05",
      parameters: { id: "queued" },
    });
    expect(got.cancelled).toEqual(["c2"]);
    expect(await stateOf("c2")).toBe("Cancelled");
    await createRunsPg(store.pool, [run("p2", { work_pool: "pa" })], T0, "made");
    await q("UPDATE work_pools SET paused = true");
    expect(
      (await claimRunsPg(store.pool, { owner: "w", now: later(50), leaseUntil: later(60_000), limit: 10 }))
        .claimed,
    ).toEqual([]);
  });

  it("a run whose lease ran out is Crashed and frees its slot; a renewal keeps it", async () => {
    await workPool("pa", 1);
    await createRunsPg(
      store.pool,
      [run("a", { work_pool: "pa" }), run("b", { work_pool: "pa" })],
      T0,
      "made",
    );
    const claim = (owner: string, at: Date) =>
      claimRunsPg(store.pool, {
        owner,
        now: at,
        leaseUntil: new Date(at.getTime() + 30_000),
        limit: 5,
        pools: ["pa"],
      });
    expect((await claim("w1", later(0))).claimed.map((c) => c.id)).toEqual(["a"]);
    expect((await claim("w2", later(1))).claimed).toEqual([]); // the pool is full
    // Renewed by its holder (not by another): still held at +40 s.
    expect(await renewLeasesPg(store.pool, "w2", ["a"], later(60_000))).toEqual([]);
    expect(await renewLeasesPg(store.pool, "w1", ["a"], later(60_000))).toEqual(["a"]);
    expect(await expiredLeasesPg(store.pool, later(40_000))).toEqual([]);
    expect(await crashExpiredLeasesPg(store.pool, later(40_000))).toEqual([]);
    // Not renewed again: at +70 s it ran out.
    expect(await crashExpiredLeasesPg(store.pool, later(70_000))).toEqual(["a"]);
    expect(await q("SELECT state, lease_owner, error FROM runs WHERE id = 'a'")).toEqual([
      { state: "Crashed", lease_owner: null, error: "crashed: its lease expired" },
    ]);
    expect(await renewLeasesPg(store.pool, "w1", ["a"], later(90_000))).toEqual([]); // w1 learns it lost
    expect((await claim("w2", later(70_001))).claimed.map((c) => c.id)).toEqual(["b"]); // the slot is free
  });

  it("at start a process recovers only its own runs", async () => {
    await createRunsPg(
      store.pool,
      ["a", "b", "c"].map((id) => run(id)),
      T0,
      "made",
    );
    await claimRunsPg(store.pool, { owner: "me", now: later(1), leaseUntil: later(60_000), limit: 2 });
    await claimRunsPg(store.pool, { owner: "other", now: later(1), leaseUntil: later(60_000), limit: 2 });
    await transitionRunsPg(store.pool, { ids: ["b"] }, { to: "Running", at: later(2) });
    expect(await recoverOwnRunsPg(store.pool, "me", later(3))).toEqual(["a", "b"]);
    expect(await q("SELECT id, state, lease_owner FROM runs ORDER BY id")).toEqual([
      { id: "a", state: "Crashed", lease_owner: null },
      { id: "b", state: "Crashed", lease_owner: null },
      { id: "c", state: "Pending", lease_owner: "other" },
    ]);
    expect(await recoverOwnRunsPg(store.pool, "me", later(4))).toEqual([]);
  });
});
