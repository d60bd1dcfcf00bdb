/**
 * Claims, leases and hand-back through the daemon store (`DaemonStore`), the same assertions on a
 * DuckDB file (`duckDaemonStore`) and on a throwaway PostgreSQL server (`pgDaemonStore`): claim
 * order (queue priority, then when due), the pool's, queue's and deployment's limits, paused pools
 * and deployments, `cancel_new`, a taken run Pending under a lease, leases renewed only by their
 * holder and crashed once expired, and taken runs handed back at stop. PostgreSQL's many claimers
 * at once: `src/store/pg/control-plane.test.ts`; a worker's `--pool`/`--queue`:
 * `daemon-store-pg.test.ts`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import type { NewRun } from "../store/create-runs.js";
import type { Store } from "../store/open.js";
import { migratePg, openPgPool, type PgStore } from "../store/pg/index.js";
import { tempStore } from "../store/testing.js";
import { duckHistory, type HistoryBackend, pgHistory } from "../store/testing-history.js";
import { type DaemonStore, duckDaemonStore } from "./daemon-store.js";
import { pgDaemonStore } from "./daemon-store-pg.js";

interface ClaimBackend {
  daemon: DaemonStore;
  history: HistoryBackend;
}

describe("claims on DuckDB", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let daemon: DaemonStore;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    daemon = await duckDaemonStore(store);
  });
  afterEach(async () => {
    await cleanup();
  });
  claimTests(() => ({ daemon, history: duckHistory(store) }));
});

pgDescribe("claims on PostgreSQL", (server) => {
  let pg: PgStore;
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
  });
  afterAll(() => pg?.close());
  beforeEach(async () => {
    await pg.pool.query("TRUNCATE runs, state_transitions, task_runs, deployments, work_pools, work_queues");
  });
  claimTests(() => ({ daemon: pgDaemonStore(pg), history: pgHistory(pg) }));
});

const T0 = new Date("2026-01-05T09:00:00Z");
const later = (ms: number) => new Date(T0.getTime() + ms);
const LEASE_MS = 60_000;

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

function claimTests(backend: () => ClaimBackend): void {
  const b = () => backend();
  const workPool = (name: string, limit: number | null, paused = false) =>
    b().history.exec(
      "INSERT INTO work_pools (name, concurrency_limit, paused, definition) VALUES ($1, $2, $3, '{}')",
      [name, limit, paused],
    );
  const workQueue = (pool: string, name: string, priority: number, limit: number | null) =>
    b().history.exec(
      "INSERT INTO work_queues (pool, name, priority, concurrency_limit) VALUES ($1, $2, $3, $4)",
      [pool, name, priority, limit],
    );
  const deployment = (name: string, limit: number | null, collision = "enqueue", paused = false) =>
    b().history.exec(
      `INSERT INTO deployments (name, pipeline, pipeline_file, concurrency_limit, collision_strategy,
         missed_runs, paused, definition, updated_at)
       VALUES ($1, 'p', '/x/p.yaml', $2, $3, 'skip', $4, '{}', now())`,
      [name, limit, collision, paused],
    );
  const create = (...runs: NewRun[]) => b().history.createRuns(runs, T0, "made");
  const claim = async (at: Date, owner = "w1", capacity = 10) => {
    const got = await b().daemon.claimRuns(at, owner, LEASE_MS, capacity);
    return { ids: got.claimed.map((c) => c.id), claimed: got.claimed, cancelled: got.cancelled };
  };
  /** A run ends (its slot frees) as the engine would leave it: Completed. */
  const complete = (...ids: string[]) =>
    Promise.all(ids.map((id) => b().history.exec("UPDATE runs SET state = 'Completed' WHERE id = $1", [id])));
  const states = async () =>
    Object.fromEntries(
      (await b().history.rows("SELECT id, state, lease_owner FROM runs ORDER BY id")).map((r) => [
        r.id,
        r.lease_owner === null ? r.state : `${r.state} ${r.lease_owner}`,
      ]),
    );
  const transitionStates = async (id: string) => (await b().history.transitionsOf(id)).map((t) => t.state);

  it("takes due runs by queue priority, then when due, up to its capacity, each Pending under a lease", async () => {
    await workPool("pa", null);
    await workQueue("pa", "hi", 1, null);
    await workQueue("pa", "lo", 5, null);
    await create(
      run("late", { work_pool: "pa", scheduled_at: later(10) }),
      run("early", { work_pool: "pa", scheduled_at: later(5) }),
      run("lo", { work_pool: "pa", work_queue: "lo", scheduled_at: later(30) }),
      run("hi", { work_pool: "pa", work_queue: "hi", scheduled_at: later(20) }),
      run("no-pool", { scheduled_at: later(1) }),
      run("future", { work_pool: "pa", scheduled_at: later(99_999) }),
    );
    expect((await claim(later(50), "w1", 0)).ids).toEqual([]);
    const first = await claim(later(50), "w1", 4);
    expect(first.ids).toEqual(["hi", "lo", "no-pool", "early"]);
    expect(first.claimed[0]).toEqual({
      id: "hi",
      deployment: null,
      pipelineFile: "/x/p.yaml",
      parameters: { id: "hi" },
      logicalDate: "2026-01-05",
      workPool: "pa",
      workQueue: "hi",
      scheduledAt: later(20),
    });
    expect(first.cancelled).toEqual([]);
    const [hi] = await b().history.rows(
      "SELECT state, lease_owner, lease_expires_at FROM runs WHERE id = 'hi'",
    );
    expect(hi).toEqual({ state: "Pending", lease_owner: "w1", lease_expires_at: later(50 + LEASE_MS) });
    expect(await transitionStates("hi")).toEqual(["Scheduled", "Pending"]);
    // The rest of what is due; a run not yet due waits for its time.
    expect((await claim(later(50), "w2")).ids).toEqual(["late"]);
    expect((await claim(later(50), "w2")).ids).toEqual([]);
    expect((await claim(later(99_999), "w2")).ids).toEqual(["future"]);
  });

  it("never takes more than a pool's, a queue's or a deployment's limit; a slot frees when its run ends", async () => {
    await workPool("pa", 2);
    await workQueue("pa", "q", 1, 1);
    await deployment("d", 1);
    await create(
      run("q1", { work_pool: "pa", work_queue: "q", scheduled_at: later(1) }),
      run("q2", { work_pool: "pa", work_queue: "q", scheduled_at: later(2) }),
      run("p1", { work_pool: "pa", scheduled_at: later(3) }),
      run("p2", { work_pool: "pa", scheduled_at: later(4) }),
      run("d1", { deployment: "d", scheduled_at: later(5) }),
      run("d2", { deployment: "d", scheduled_at: later(6) }),
    );
    // q2 waits for the queue's slot, p2 for the pool's (q1 and p1 hold both), d2 for the deployment's.
    expect(await claim(later(10))).toMatchObject({ ids: ["q1", "p1", "d1"], cancelled: [] });
    expect((await claim(later(10), "w2")).ids).toEqual([]);
    await complete("q1", "d1");
    expect((await claim(later(11), "w2")).ids).toEqual(["q2", "d2"]);
    expect(await states()).toEqual({
      d1: "Completed w1",
      d2: "Pending w2",
      p1: "Pending w1",
      p2: "Scheduled",
      q1: "Completed w1",
      q2: "Pending w2",
    });
    await complete("p1");
    expect((await claim(later(12), "w3")).ids).toEqual(["p2"]);
  });

  it("a deployment at its limit leaves a new run waiting (enqueue) or cancels it (cancel_new)", async () => {
    await deployment("de", 1, "enqueue");
    await deployment("dc", 1, "cancel_new");
    await create(
      run("de1", { deployment: "de", scheduled_at: later(1) }),
      run("de2", { deployment: "de", scheduled_at: later(2) }),
      run("dc1", { deployment: "dc", scheduled_at: later(3) }),
      run("dc2", { deployment: "dc", scheduled_at: later(4) }),
    );
    expect(await claim(later(10))).toMatchObject({ ids: ["de1", "dc1"], cancelled: ["dc2"] });
    expect(await states()).toMatchObject({ de2: "Scheduled", dc2: "Cancelled" });
    expect(await transitionStates("dc2")).toEqual(["Scheduled", "Cancelled"]);
    // Once de1 ends, de2 goes; nothing is left of dc's.
    await complete("de1", "dc1");
    expect(await claim(later(11))).toMatchObject({ ids: ["de2"], cancelled: [] });
  });

  it("takes nothing of a paused pool or a paused deployment until it resumes", async () => {
    await workPool("pp", null, true);
    await deployment("dp", null, "enqueue", true);
    await create(
      run("in-paused-pool", { work_pool: "pp", scheduled_at: later(1) }),
      run("of-paused-deployment", { deployment: "dp", scheduled_at: later(2) }),
      run("free", { scheduled_at: later(3) }),
    );
    expect((await claim(later(10))).ids).toEqual(["free"]);
    expect((await claim(later(10))).ids).toEqual([]);
    await b().history.exec("UPDATE work_pools SET paused = false");
    await b().history.exec("UPDATE deployments SET paused = false");
    expect((await claim(later(10))).ids).toEqual(["in-paused-pool", "of-paused-deployment"]);
  });

  it("hands back at stop the runs it took and did not start, nothing else", async () => {
    await create(...["a", "b", "c", "d"].map((id, i) => run(id, { scheduled_at: later(i) })));
    expect((await claim(later(10), "w1", 2)).ids).toEqual(["a", "b"]);
    expect((await claim(later(10), "w2", 1)).ids).toEqual(["c"]);
    await b().history.exec("UPDATE runs SET state = 'Running' WHERE id = 'b'");
    await b().daemon.handBack("w1", later(20));
    expect(await states()).toEqual({ a: "Scheduled", b: "Running w1", c: "Pending w2", d: "Scheduled" });
    const [a] = await b().history.rows("SELECT lease_expires_at FROM runs WHERE id = 'a'");
    expect(a).toEqual({ lease_expires_at: null });
    expect(await transitionStates("a")).toEqual(["Scheduled", "Pending", "Scheduled"]);
    expect((await claim(later(30), "w3")).ids).toEqual(["a", "d"]);
  });

  it("renews a lease only for its holder; once it ran out, the run is Crashed and its slot frees", async () => {
    await workPool("pa", 1);
    await create(
      run("a", { work_pool: "pa", scheduled_at: later(1) }),
      run("b", { work_pool: "pa", scheduled_at: later(2) }),
    );
    expect((await claim(later(0 + 10), "w1")).ids).toEqual(["a"]); // leased until +60.01 s
    expect((await claim(later(20), "w2")).ids).toEqual([]); // the pool is full
    const until = later(100_000);
    expect(await b().daemon.renewLeases("w2", ["a"], until)).toEqual([]);
    expect(await b().daemon.renewLeases("w1", ["a"], until)).toEqual(["a"]);
    expect(await b().daemon.crashExpired(later(90_000), new Set())).toEqual([]);
    // Not renewed again: at +110 s its lease ran out.
    expect(await b().daemon.crashExpired(later(110_000), new Set())).toEqual(["a"]);
    expect(
      await b().history.rows("SELECT state, lease_owner, lease_expires_at, error FROM runs WHERE id = 'a'"),
    ).toEqual([
      { state: "Crashed", lease_owner: null, lease_expires_at: null, error: "crashed: its lease expired" },
    ]);
    // Its holder learns at its next renewal that the run is no longer its own.
    expect(await b().daemon.renewLeases("w1", ["a"], later(200_000))).toEqual([]);
    expect((await claim(later(110_001), "w2")).ids).toEqual(["b"]);
  });
}
