/**
 * PostgreSQL's claims under load, against a throwaway server: concurrent claimers within pool,
 * queue and deployment limits (never over, every run taken once), and a restart recovering only its
 * own runs. What both backends do alike (creation, guarded transitions, crashes, claim order and
 * limits, leases, hand-back): `../run-state.test.ts` and `../../daemon/claims.test.ts`.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { pgDescribe } from "../../../tests/helpers/postgres.js";
import type { NewRun } from "../create-runs.js";
import { SLOT_RUN_STATES } from "../states.js";
import { claimRunsPg } from "./claim-runs.js";
import { createRunsPg } from "./create-runs.js";
import { recoverOwnRunsPg } from "./leases.js";
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

pgDescribe("PostgreSQL runs: many claimers at once, recovery of own runs", (server) => {
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

  async function deployment(name: string, limit: number | null) {
    await q(
      `INSERT INTO deployments (name, pipeline, pipeline_file, concurrency_limit, collision_strategy,
         missed_runs, paused, definition, updated_at)
       VALUES ($1, 'p', '/x/p.yaml', $2, 'enqueue', 'skip', false, '{}', now())`,
      [name, limit],
    );
  }
  async function workPool(name: string, limit: number | null) {
    await q(
      "INSERT INTO work_pools (name, concurrency_limit, paused, definition) VALUES ($1, $2, false, '{}')",
      [name, limit],
    );
  }

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
    for (let d = 0; d < 6; d++) await deployment(`d${d}`, DEPLOYMENT_LIMIT);
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

  it("a run behind a long queue held back by its deployment's limit is still taken", async () => {
    // 40 runs of a deployment at its limit come first in claim order: the first look (the queue's
    // head, a few rows) finds nothing it may take, so the claim looks through the whole scan.
    await deployment("busy", 1);
    await createRunsPg(
      store.pool,
      Array.from({ length: 41 }, (_, i) => run(`busy-${String(i).padStart(2, "0")}`, { deployment: "busy" })),
      T0,
      "made",
    );
    const first = await claimRunsPg(store.pool, {
      owner: "w",
      now: later(1),
      leaseUntil: later(60_000),
      limit: 1,
    });
    expect(first.claimed.map((r) => r.id)).toEqual(["busy-00"]);
    await createRunsPg(store.pool, [run("other", { scheduled_at: later(1) })], T0, "made");
    const next = await claimRunsPg(store.pool, {
      owner: "w",
      now: later(2),
      leaseUntil: later(60_000),
      limit: 1,
    });
    expect(next.claimed.map((r) => r.id)).toEqual(["other"]);
  });
});
